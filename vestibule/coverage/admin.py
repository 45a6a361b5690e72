"""Coverage in the admin console: looked up, never edited by hand.

Records come from the covering organisations' files (`vestibule import-coverage`); the one
change staff make here is linking or unlinking an account (seed 004: a family member who
registered before being invited), through the audited services.
"""

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vestibule.accounts.models import Account
from vestibule.coverage.models import AccessCode, CoverageRecord, InvitedEmail
from vestibule.coverage.services import CoverageRefused, coverage_link_by_staff, coverage_unlink

REFUSALS = {
    "record_linked": gettext_lazy(
        "This coverage is already linked to an account: unlink it first."
    ),
    "account_linked": gettext_lazy("This account is already linked to another coverage."),
}


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class InvitedEmailInline(ReadOnlyInline):
    model = InvitedEmail
    fields = ("email", "kind")


class AccessCodeInline(ReadOnlyInline):
    model = AccessCode
    # The token (its digest) is left out: it is of no use to anyone reading this page.
    fields = ("sent_to", "created_at", "expires_shown", "used_shown")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AccessCode]:
        return super().get_queryset(request).select_related("token")

    @admin.display(description=gettext_lazy("expires"))
    def expires_shown(self, access_code: AccessCode) -> datetime:
        return access_code.expires_at

    @admin.display(description=gettext_lazy("used"))
    def used_shown(self, access_code: AccessCode) -> datetime | None:
        return access_code.used_at


class DependentInline(ReadOnlyInline):
    model = CoverageRecord
    fk_name = "primary"
    fields = ("first_name", "last_name", "account", "linked_at")
    verbose_name = gettext_lazy("dependent")
    verbose_name_plural = gettext_lazy("dependents")


class LinkForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail of the account to link"), max_length=254)

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        self.account = Account.objects.by_email(email).first()
        if self.account is None:
            raise forms.ValidationError(_("No account has this e-mail address."))
        return email


@admin.register(CoverageRecord)
class CoverageRecordAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "plan", "region", "primary", "account", "linked_at")
    list_filter = ("region", "allows_dependents", ("account", admin.EmptyFieldListFilter))
    search_fields = ("last_name", "first_name", "plan", "emails__email", "account__email")
    list_select_related = ("primary", "account")
    fields = (
        "region",
        "plan",
        "first_name",
        "last_name",
        "primary",
        "allows_dependents",
        "account",
        "linked_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    inlines = [InvitedEmailInline, DependentInline, AccessCodeInline]
    change_form_template = "admin/coverage/coveragerecord/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        link = path(
            "<int:pk>/link/",
            self.admin_site.admin_view(self.link_view),
            name="coverage_coveragerecord_link",
        )
        return [link, *super().get_urls()]

    def link_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Link an account, chosen by its e-mail, to this record; or unlink the linked one."""
        record = get_object_or_404(CoverageRecord.objects.select_related("account"), pk=pk)
        if not self.has_change_permission(request, record):
            raise PermissionDenied
        form = LinkForm(request.POST or None)
        if request.method == "POST" and "unlink" in request.POST:
            coverage_unlink(record=record, staff=request.user, request=request)
            self.message_user(request, _("The account has been unlinked."), messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        if request.method == "POST" and form.is_valid():
            try:
                coverage_link_by_staff(
                    account=form.account,
                    record=record,
                    staff=request.user,
                    request=request,
                )
            except CoverageRefused as refused:
                form.add_error(None, REFUSALS[refused.reason])
            else:
                self.message_user(request, _("The account has been linked."), messages.SUCCESS)
                change = reverse("admin:coverage_coveragerecord_change", args=[record.pk])
                return HttpResponseRedirect(change)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "record": record,
            "form": form,
            "title": _("Link an account to %(name)s") % {"name": record.full_name},
        }
        return render(request, "admin/coverage/coveragerecord/link.html", context)
