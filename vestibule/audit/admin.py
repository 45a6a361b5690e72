from django.contrib import admin

from vestibule.audit.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "subject", "ip_address")
    list_filter = ("kind",)
    search_fields = ("subject", "kind", "ip_address")
    date_hierarchy = "created_at"

    # The log is evidence: nobody edits or deletes it from the console.
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
