from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One security event: who, what, when, from where."""

    kind = models.CharField(_("event"), max_length=64, db_index=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the actor typed or who was concerned, kept even when the account is deleted.
    subject = models.CharField(_("concerning"), max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    # The writing transaction's id on PostgreSQL, set by a trigger whatever the insert says
    # (migration 0003); 0 on SQLite and for the events older than the column. The events
    # feed pages in (xid, id) order and serves only finished transactions' rows, so an event
    # committed late never lands behind a SIEM's cursor (vestibule.audit.feed).
    xid = models.BigIntegerField(_("transaction"), default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["xid", "id"], name="audit_event_feed")]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind} {self.subject}"
