from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lockout import account_unlock
from vestibule.accounts.models import Account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("email", "code", "kind", "status", "locked_at", "created_at", "is_staff")
    list_filter = ("status", "kind", "is_staff")
    search_fields = ("email", "code", "first_name", "last_name")
    ordering = ("-created_at",)
    # The password, e-mail and status change through services that audit and notify.
    readonly_fields = (
        "email",
        "code",
        "kind",
        "status",
        "password",
        "member",
        "created_at",
        "activated_at",
        "locked_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "code", "kind", "status", "member")}),
        (_("Name and language"), {"fields": ("first_name", "last_name", "language")}),
        (_("Times"), {"fields": ("created_at", "activated_at", "locked_at")}),
        (_("Staff"), {"fields": ("is_staff", "is_superuser", "groups")}),
        (_("Password hash"), {"fields": ("password",)}),
    )

    actions = ["unlock"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Unlock the selected accounts"))
    def unlock(self, request, queryset) -> None:
        for account in queryset.exclude(locked_at__isnull=True):
            account_unlock(account=account, request=request, by=request.user.email)
