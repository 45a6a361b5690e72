from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Establishment(models.Model):
    """A hotel, a dental practice, a clinic: what delegated users act for."""

    name = models.CharField(_("name"), max_length=200)
    public_id = models.CharField(_("public identifier"), max_length=32, unique=True)
    region = models.CharField(_("region"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("establishment")
        verbose_name_plural = _("establishments")

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class Membership(models.Model):
    """An account acting for an establishment, with the access rights it was given."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("establishment"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    rights = models.JSONField(_("access rights"), default=list)
    # The account that created the establishment (seed 000's dentist), or its first
    # administrator: removed, or its rights changed, only by another owner or by staff.
    is_owner = models.BooleanField(_("owner"), default=False)
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        ordering = ["establishment__name", "account__email"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["account", "establishment"], name="one_membership")
        ]

    def __str__(self) -> str:
        return f"{self.account} @ {self.establishment}"


class Invitation(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        ACCEPTED = "accepted", _("accepted")
        REVOKED = "revoked", _("revoked")
        EXPIRED = "expired", _("expired")  # shown, never stored: see current_state

    establishment = models.ForeignKey(
        Establishment,
        verbose_name=_("establishment"),
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    email = models.EmailField(_("e-mail"), max_length=254)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    rights = models.JSONField(_("access rights"), default=list)
    # True when sent to an existing account (« Utilisateur existant »).
    for_existing_account = models.BooleanField(default=False)
    # The first administrator of an establishment created by an operator
    # (`vestibule create-establishment`): accepting makes its membership the owner's.
    as_owner = models.BooleanField(_("as owner"), default=False)
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Its key, expiry and single use are kept by the tokens app.
    token = models.OneToOneField(
        "tokens.Token", on_delete=models.PROTECT, related_name="invitation"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        indexes = [models.Index(Lower("email"), "establishment", name="invitation_email_idx")]

    def __str__(self) -> str:
        return f"{self.email} → {self.establishment}"

    @property
    def expires_at(self) -> datetime:
        return self.token.expires_at

    @property
    def expired(self) -> bool:
        return self.state == self.State.PENDING and self.expires_at <= timezone.now()

    @property
    def current_state(self) -> str:
        """The stored state, or "expired" for a pending invitation past its expiry."""
        return self.State.EXPIRED if self.expired else self.State(self.state)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
