from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vestibule.audit.models import Event
from vestibule.notifications.sealing import body_unseal


class Endpoint(models.Model):
    """A URL of the organisation's systems that receives the security events of some kinds."""

    url = models.URLField(_("URL"), max_length=2000)
    # Sealed like the outbox bodies: the signing key must be usable, so it cannot be hashed;
    # whoever reads the database alone cannot forge a delivery. Read it with secret().
    sealed_secret = models.TextField(_("secret"))
    kinds = models.JSONField(_("event kinds"), default=list)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=254, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url

    def secret(self) -> str:
        """The signing secret, opened."""
        return body_unseal(self.sealed_secret)


class Delivery(models.Model):
    """One event to POST to one endpoint: queued with the event, sent by the worker."""

    class State(models.TextChoices):
        READY = "ready", _("ready")
        SENDING = "sending", _("sending")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")

    endpoint = models.ForeignKey(
        Endpoint, verbose_name=_("webhook"), on_delete=models.CASCADE, related_name="deliveries"
    )
    # The audit purge takes the deliveries of the events it deletes with them.
    event = models.ForeignKey(
        Event, verbose_name=_("security event"), on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.READY, db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhooks_delivery_once")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint}"
