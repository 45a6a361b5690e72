from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CoverageRecord(models.Model):
    """One covered person, as the covering organisation (employer, insurer) lists them."""

    region = models.CharField(_("region"), max_length=32, db_index=True)
    plan = models.CharField(_("plan or group"), max_length=150)
    first_name = models.CharField(_("first name"), max_length=150)
    last_name = models.CharField(_("last name"), max_length=150)
    # Empty for a primary member; a dependent (family member) is covered through its primary.
    primary = models.ForeignKey(
        "self",
        verbose_name=_("primary member"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="dependents",
    )
    allows_dependents = models.BooleanField(_("allows dependents"), default=False)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("linked account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coverage",
    )
    linked_at = models.DateTimeField(_("linked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "pk"]
        verbose_name = _("coverage record")
        verbose_name_plural = _("coverage records")

    def __str__(self) -> str:
        return f"{self.full_name} ({self.plan}, {self.region})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_primary(self) -> bool:
        return self.primary_id is None


class InvitedEmail(models.Model):
    """An address a covered person was invited at: personal, work or school."""

    class Kind(models.TextChoices):
        PERSONAL = "personal", _("personal")
        WORK = "work", _("work")
        SCHOOL = "school", _("school")

    record = models.ForeignKey(
        CoverageRecord,
        verbose_name=_("coverage record"),
        on_delete=models.CASCADE,
        related_name="emails",
    )
    # The record's region, copied so that the database itself keeps one record per address
    # and region: an activated account's e-mail then finds at most one coverage.
    region = models.CharField(_("region"), max_length=32)
    email = models.EmailField(_("e-mail"), max_length=254)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PERSONAL)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("invited e-mail")
        verbose_name_plural = _("invited e-mails")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), "region", name="coverage_invitedemail_email_region_ci_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.email


class AccessCode(models.Model):
    """A « code d'accès » e-mailed to one invited address; its keyed digest, expiry and
    single use are kept by its token (`vestibule.tokens`)."""

    record = models.ForeignKey(
        CoverageRecord,
        verbose_name=_("coverage record"),
        on_delete=models.CASCADE,
        related_name="access_codes",
    )
    token = models.OneToOneField(
        "tokens.Token", on_delete=models.PROTECT, related_name="access_code"
    )
    sent_to = models.EmailField(_("sent to"), max_length=254)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("access code")
        verbose_name_plural = _("access codes")

    def __str__(self) -> str:
        return f"{self.sent_to} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def expires_at(self) -> datetime:
        return self.token.expires_at

    @property
    def used_at(self) -> datetime | None:
        return self.token.used_at


class FamilyInvitation(models.Model):
    """A primary member's invitation of a family member (issue 12, item 8).

    An address a primary member types proves nothing about whose it is: the dependent
    record made for it has no invited address and is linked to nobody until the account
    of that address accepts, on a page naming the primary member and the plan. A declined
    invitation stays declined. The primary member sees only its state.
    """

    class State(models.TextChoices):
        INVITED = "invited", _("invited")
        ACCEPTED = "accepted", _("accepted")
        DECLINED = "declined", _("declined")

    record = models.OneToOneField(
        CoverageRecord,
        verbose_name=_("dependent record"),
        on_delete=models.CASCADE,
        related_name="family_invitation",
    )
    primary = models.ForeignKey(
        CoverageRecord,
        verbose_name=_("primary member"),
        on_delete=models.CASCADE,
        related_name="family_invitations_sent",
    )
    # Lower-case, as typed by the primary member; matched against the account's e-mail.
    email = models.EmailField(_("e-mail"), max_length=254)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.INVITED
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("family invitation")
        verbose_name_plural = _("family invitations")
        indexes = [models.Index(fields=["email", "state"], name="family_invitation_email_idx")]
        constraints = [
            # One open invitation per primary member and address: inviting again resends it.
            models.UniqueConstraint(
                fields=["primary", "email"],
                condition=models.Q(state="invited"),
                name="one_open_family_invitation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.state})"
