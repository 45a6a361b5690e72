from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lockout import account_unlock
from vestibule.accounts.models import Account
from vestibule.accounts.privileges import (
    FLAGS,
    PRIVILEGE_FIELDS,
    is_last_superuser,
    may_change_privileges,
    privileges_changed_by,
)
from vestibule.audit.services import event_record


class PrivilegesGuarded(admin.ModelAdmin):
    """Privilege fields are read-only, and refused if posted, for anyone but a superuser.

    Every change saved through these pages is recorded with the staff member who made it.
    """

    guarded_fields: tuple[str, ...] = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        if may_change_privileges(request.user):
            return fields
        return fields + tuple(f for f in self.guarded_fields if f not in fields)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        posted = [f for f in self.guarded_fields if f in request.POST]
        if request.method == "POST" and posted and not may_change_privileges(request.user):
            # The page never offers these fields to this user: the request was crafted.
            event_record(
                "admin.privileges_refused",
                request=request,
                account=request.user,
                model=self.model._meta.label,
                object_id=object_id or "",
                fields=posted,
            )
            raise PermissionDenied
        with privileges_changed_by(request.user, request):
            return super().changeform_view(request, object_id, *args, **kwargs)

    def delete_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        with privileges_changed_by(request.user, request):
            return super().delete_view(request, object_id, *args, **kwargs)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with privileges_changed_by(request.user, request):
            return super().changelist_view(request, *args, **kwargs)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Second line of defence, should a form ever carry a guarded field again.
        if not may_change_privileges(request.user) and set(form.cleaned_data) & set(
            self.guarded_fields
        ):
            raise PermissionDenied
        super().save_related(request, form, formsets, change)


class AccountAdminForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ("first_name", "last_name", "language", *PRIVILEGE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        losing = any(field in cleaned and not cleaned[field] for field in FLAGS)
        # self.instance still holds the stored values here: the form applies them later.
        if self.instance.pk and losing and is_last_superuser(self.instance):
            raise forms.ValidationError(
                _("This is the last superuser: make another account superuser first.")
            )
        return cleaned


@admin.register(Account)
class AccountAdmin(PrivilegesGuarded):
    form = AccountAdminForm
    guarded_fields = PRIVILEGE_FIELDS
    filter_horizontal = ("groups", "user_permissions")
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
        "member",
        "created_at",
        "activated_at",
        "locked_at",
    )
    fieldsets = (
        (None, {"fields": ("email", "code", "kind", "status", "member")}),
        (_("Name and language"), {"fields": ("first_name", "last_name", "language")}),
        (_("Times"), {"fields": ("created_at", "activated_at", "locked_at")}),
        (_("Staff"), {"fields": ("is_staff", "is_superuser", "groups", "user_permissions")}),
    )  # No password hash: material for an offline guess, of no use to support.

    actions = ["unlock"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        if not may_change_privileges(request.user):
            stored = Account.objects.filter(pk=obj.pk).values(*FLAGS).first() or {}
            if any(stored.get(flag) != getattr(obj, flag) for flag in FLAGS):
                raise PermissionDenied
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Unlock the selected accounts"))
    def unlock(self, request, queryset) -> None:
        for account in queryset.exclude(locked_at__isnull=True):
            account_unlock(account=account, request=request, by=request.user.email)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PrivilegesGuarded, DjangoGroupAdmin):
    """A staff member who may change groups renames them; only a superuser changes what a
    group permits (else a member of a group could add permissions to it, and so to itself)."""

    guarded_fields = ("permissions",)
