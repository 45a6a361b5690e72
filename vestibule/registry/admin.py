from django.contrib import admin
from django.http import HttpRequest

from vestibule.registry.models import Member


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    """Read-only: the roster comes from the organisation's file (`vestibule import-members`),
    whose checks (code format per kind, one e-mail per member) an edit here would bypass."""

    list_display = ("code", "kind", "first_name", "last_name", "email", "region", "active")
    list_filter = ("kind", "active", "region")
    search_fields = ("code", "email", "first_name", "last_name")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return False
