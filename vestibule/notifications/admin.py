from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vestibule.notifications.models import Message

SEALED = ("sealed_text", "sealed_html")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "to", "subject", "state", "attempts", "next_attempt_at")
    list_filter = ("state", "template", "language")
    search_fields = ("to", "subject")
    actions = ["retry_now"]
    # The bodies hold live links and codes: staff see who, what and when, never the bodies.
    exclude = SEALED
    # What was sent is a record: only its delivery schedule may be nudged.
    readonly_fields = [field.name for field in Message._meta.fields if field.name not in SEALED]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Send again at the next round"))
    def retry_now(self, request, queryset) -> None:
        # A message given up has had its bodies wiped: there is nothing left to send.
        queryset.exclude(state=Message.State.SENT).exclude(sealed_text="").update(
            state=Message.State.READY, next_attempt_at=timezone.now(), claimed_at=None
        )
