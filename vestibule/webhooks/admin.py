from django.contrib import admin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vestibule.webhooks.models import Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "kinds", "active", "created_at", "created_by")
    list_filter = ("active",)
    # The secret never shows; registering one (`vestibule webhook add`) prints it once.
    exclude = ("sealed_secret",)
    readonly_fields = ("url", "kinds", "created_at", "created_by")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "endpoint",
        "event_kind",
        "state",
        "attempts",
        "last_status",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("state", "endpoint")
    list_select_related = ("endpoint", "event")
    readonly_fields = [field.name for field in Delivery._meta.fields]
    actions = ["retry_now"]

    @admin.display(description=_("event"))
    def event_kind(self, delivery: Delivery) -> str:
        return delivery.event.kind

    # A delivery is a record of what was sent: only its schedule may be nudged.
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Send again at the next round"))
    def retry_now(self, request, queryset) -> None:
        queryset.exclude(state=Delivery.State.DELIVERED).update(
            state=Delivery.State.READY, attempts=0, next_attempt_at=timezone.now(), claimed_at=None
        )
