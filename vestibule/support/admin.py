"""The Account admin of the staff console, extended with each account's support page.

`accounts/admin.py` keeps the account's fields and its privileges guard; this app, above
the domain apps, adds what calls upward (the flows' links, the privacy export): the
search by establishment and the support page with its actions (`support/views.py`).
"""

from collections.abc import Callable
from functools import partial

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.admin import AccountAdmin
from vestibule.accounts.models import Account
from vestibule.support import views

admin.site.unregister(Account)


@admin.register(Account)
class AccountSupportAdmin(AccountAdmin):
    list_display = (*AccountAdmin.list_display, "support_link")
    # Found by what a caller says: an e-mail, a licence or user code, a name, or the
    # establishment they act for (its name or public identifier).
    search_fields = (
        "email",
        "code",
        "member__code",
        "first_name",
        "last_name",
        "memberships__establishment__name",
        "memberships__establishment__public_id",
    )

    @admin.display(description=_("support"))
    def support_link(self, account: Account) -> str:
        return format_html('<a href="{}">{}</a>', views.support_url(account), _("Support page"))

    def get_urls(self) -> list[URLPattern]:
        def wrap(view: Callable[..., HttpResponse], name: str, route: str) -> URLPattern:
            bound = partial(view, model_admin=self)
            return path(route, self.admin_site.admin_view(bound), name=name)

        return [
            wrap(views.account_support, "accounts_account_support", "<int:pk>/support/"),
            *(
                wrap(
                    action,
                    f"accounts_account_support_{name}",
                    f"<int:pk>/support/{name.replace('_', '-')}/",
                )
                for name, action in views.ACTIONS.items()
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "support_url": _support_url(object_id)}
        return super().change_view(request, object_id, form_url, extra)


def _support_url(object_id: str) -> str | None:
    return (
        reverse("admin:accounts_account_support", args=[object_id]) if object_id.isdigit() else None
    )
