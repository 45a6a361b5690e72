from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from vestibule.notifications.sealing import body_unseal


class Message(models.Model):
    """An e-mail in the transactional outbox: written with the change that causes it."""

    class State(models.TextChoices):
        READY = "ready", _("ready")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    template = models.CharField(_("template"), max_length=64)
    to = models.EmailField(_("recipient"), max_length=254)
    subject = models.CharField(pgettext_lazy("e-mail", "subject"), max_length=255)
    # Sealed (vestibule.notifications.sealing): the bodies hold live links and codes. Wiped
    # once sent or given up; read them with text() and html(), never from the columns.
    sealed_text = models.TextField(_("text"), blank=True)
    sealed_html = models.TextField(_("HTML"), blank=True)
    language = models.CharField(_("language"), max_length=8)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.READY, db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.to}: {self.subject}"

    def message_id(self, domain: str) -> str:
        """The Message-ID every attempt at this message carries: a sender killed after the
        server took the message, but before it was marked sent, leaves it to be sent again,
        and the copy is recognisable as the same message (RFC 5322 §3.6.4)."""
        return f"<{self.created_at:%Y%m%d%H%M%S}.{self.pk}.vestibule@{domain}>"

    def text(self) -> str:
        """The plain-text body, opened (empty once sent or given up)."""
        return body_unseal(self.sealed_text)

    def html(self) -> str:
        """The HTML body, opened (empty once sent or given up)."""
        return body_unseal(self.sealed_html)
