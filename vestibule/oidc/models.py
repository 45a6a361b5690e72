"""What Vestibule adds to django-oauth-toolkit's clients: who may enter a section, how the
portal shows it, where it hears of sign-outs; and each account's stable subject."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from oauth2_provider.settings import oauth2_settings


class Section(models.Model):
    """A members' section (an OpenID Connect relying party), beside its OAuth application."""

    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="section",
        verbose_name=_("client"),
    )
    description_fr = models.CharField(_("description (French)"), max_length=300, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=300, blank=True)
    # Where the portal home sends a member who wants to enter (the section's own sign-in).
    home_url = models.URLField(_("address of the section"), blank=True)
    # Member kinds let in; empty: every kind.
    allowed_kinds = models.JSONField(_("member kinds let in"), default=list, blank=True)
    # An access right the member must hold in at least one establishment; empty: none.
    required_right = models.CharField(_("access right required"), max_length=64, blank=True)
    backchannel_logout_uri = models.URLField(_("back-channel logout URI"), blank=True)
    # Registered by the operator for the organisation itself: no consent screen.
    first_party = models.BooleanField(_("first party"), default=True)
    # A member signed in with a password alone gives a second factor (or enrols one) first.
    requires_mfa = models.BooleanField(_("second factor required"), default=False)

    class Meta:
        verbose_name = _("members' section")
        verbose_name_plural = _("members' sections")

    def __str__(self) -> str:
        return self.application.name

    @property
    def description(self) -> str:
        if (get_language() or "fr").startswith("en"):
            return self.description_en or self.description_fr
        return self.description_fr or self.description_en


class Subject(models.Model):
    """The `sub` of an account: random, stable, never the e-mail or the licence."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_subject"
    )
    sub = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        verbose_name = _("subject identifier")
        verbose_name_plural = _("subject identifiers")

    def __str__(self) -> str:
        return str(self.sub)


class LogoutDelivery(models.Model):
    """A back-channel logout token to POST to a section (OpenID Connect Back-Channel
    Logout 1.0), queued like the e-mail outbox so a section that is down still hears of the
    sign-out later (vestibule/oidc/logout.py). The token is signed when it is sent."""

    class State(models.TextChoices):
        READY = "ready", _("ready")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="logout_deliveries")
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # Copied when queued: the token still names the member if the account is deleted, and
    # the issuer is the one the member's request came to (send-mail has no request).
    sub = models.CharField(_("subject identifier"), max_length=64)
    issuer = models.CharField(_("issuer"), max_length=300)
    jti = models.CharField(_("token identifier"), max_length=64, unique=True)
    reason = models.CharField(_("reason"), max_length=32)
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
        verbose_name = _("back-channel logout")
        verbose_name_plural = _("back-channel logouts")
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.section}: {self.sub}"
