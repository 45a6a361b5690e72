from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Factor(models.Model):
    """A second factor of an account: an authenticator app (TOTP) or a passkey (WebAuthn)."""

    class Kind(models.TextChoices):
        TOTP = "totp", _("authenticator app")
        WEBAUTHN = "webauthn", _("passkey")

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="factors",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64)
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    # TOTP: the shared secret, sealed (notifications.sealing) so a database reader cannot
    # compute codes; the last 30-second step accepted, so a code is never accepted twice.
    totp_secret_sealed = models.TextField(blank=True)
    totp_last_step = models.BigIntegerField(default=0)

    # WebAuthn (mfa/webauthn.py): base64url credential id and COSE public key.
    credential_id = models.CharField(max_length=1400, null=True, blank=True, unique=True)
    public_key = models.TextField(blank=True)
    sign_count = models.BigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    user_verified = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("second factor")
        verbose_name_plural = _("second factors")
        ordering = ["created_at", "pk"]
        # Support staff: remove every factor of a member who lost them (support/views.py).
        permissions = [("remove_factors", _("Can remove an account's second factors"))]
        indexes = [models.Index(fields=["account", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} « {self.name} »"


class RecoveryCode(models.Model):
    """One single-use recovery code; only a keyed digest of it is kept."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="recovery_codes",
    )
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self) -> str:
        return f"{self.account} #{self.pk}"
