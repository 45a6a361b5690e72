from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Token(models.Model):
    """One single-use secret (an e-mailed link, an invitation key, an access code).

    Only a keyed digest of its key is kept (see `vestibule.tokens.services`); the record it
    opens (an account, an invitation, a coverage record) points to it or is its `account`.
    """

    class Purpose(models.TextChoices):
        ACTIVATION = "activation", _("activation")
        RECOVERY = "recovery", _("password reset")
        INVITATION = "invitation", _("establishment invitation")
        ACCESS_CODE = "access_code", _("access code")
        EMAIL_CHANGE = "email_change", _("e-mail change")

    purpose = models.CharField(_("purpose"), max_length=16, choices=Purpose.choices)
    digest = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("single-use secret")
        verbose_name_plural = _("single-use secrets")
        indexes = [models.Index(fields=["account", "purpose"])]

    def __str__(self) -> str:
        return f"{self.purpose} {self.pk}"
