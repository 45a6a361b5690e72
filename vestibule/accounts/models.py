from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.password_policy import password_check_for
from vestibule.tokens.models import Token


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def by_email(self, email: str) -> models.QuerySet:
        """Accounts whose e-mail is `email` in any case, through the Lower(email) index
        (`email__iexact` compiles to UPPER/LIKE, which no index serves)."""
        return self.alias(email_lower=Lower("email")).filter(email_lower=email.strip().lower())

    def get_by_natural_key(self, email: str) -> "Account":
        return self.by_email(email).get()

    def create_user(self, email: str, password: str | None = None, **fields) -> "Account":
        account = self.model(email=self.normalize_email(email).lower(), **fields)
        if password is not None:
            # `createsuperuser --noinput` skips Django's validators: the policy applies here.
            password_check_for(password, account)
        account.set_password(password)
        account.save(using=self._db)
        return account

    def create_superuser(self, email: str, password: str | None = None, **fields) -> "Account":
        fields.update(is_staff=True, is_superuser=True, status=Account.Status.ACTIVE)
        fields.setdefault("activated_at", timezone.now())
        return self.create_user(email, password, **fields)


class DisabledCause(models.TextChoices):
    STAFF = "staff", _("staff")
    REGISTRY = "registry", _("registry")
    MEMBERSHIP = "membership", _("no establishment left")


class Account(AbstractBaseUser, PermissionsMixin):
    DisabledCause = DisabledCause

    class Status(models.TextChoices):
        PENDING = "pending", _("pending activation")
        ACTIVE = "active", _("active")
        DISABLED = "disabled", _("disabled")

    email = models.EmailField(_("e-mail"), max_length=254)
    # The member code this account signs in with (licence, resident number…), if any.
    code = models.CharField(_("code"), max_length=32, null=True, blank=True, unique=True)
    kind = models.CharField(_("member kind"), max_length=32)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    # Seed 004: an account belongs to the region chosen at sign-up (profile `regions`).
    region = models.CharField(_("region"), max_length=32, blank=True)
    member = models.OneToOneField(
        "registry.Member",
        verbose_name=_("registry record"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="account",
    )
    is_staff = models.BooleanField(_("staff"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated"), null=True, blank=True)
    locked_at = models.DateTimeField(_("locked"), null=True, blank=True)
    # Set when a second sign-up met this pending account: whoever signed up first may not
    # own the address, so its password is chosen again when the e-mailed link is opened.
    signed_up_again_at = models.DateTimeField(_("signed up again"), null=True, blank=True)
    # Raised by "sign out everywhere" (accounts/sessions.py): part of the session auth hash,
    # so every session opened before it ends, in the database and in the cache alike.
    sessions_generation = models.PositiveIntegerField(_("sessions generation"), default=0)
    # Disabled (status "disabled"): when, why, and by what. Staff disable and enable with a
    # reason; a registry import disables the account of an inactive member and restores it
    # when the member is active again; a delegated user removed from its last establishment
    # is disabled, then deleted after the profile's delay (accounts/lifecycle.py).
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    disabled_reason = models.CharField(_("reason"), max_length=500, blank=True)
    disabled_cause = models.CharField(
        _("disabled by"), max_length=12, choices=DisabledCause.choices, blank=True
    )
    # The member asked for the account's deletion: deleted after the profile's grace period,
    # unless they sign in meanwhile (accounts/privacy.py).
    deletion_requested_at = models.DateTimeField(_("deletion requested"), null=True, blank=True)

    objects = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        # Support staff's actions (accounts/lifecycle.py), each a permission of its own so a
        # group can be given some of them: the admin console and `vestibule account` check
        # them (the command runs as the operator, who holds them all).
        permissions = [
            ("disable_account", _("Can disable and enable accounts")),
            ("change_account_email", _("Can change an account's e-mail")),
            ("send_account_links", _("Can send reset and activation links")),
            ("end_account_sessions", _("Can end an account's sessions")),
            ("export_account", _("Can export an account's data")),
        ]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_account_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:  # read by Django's auth: only active accounts sign in
        return self.status == self.Status.ACTIVE

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def identifier(self) -> str:
        """What this account types in « Identifiant »: its code, else its e-mail."""
        return self.code or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        # Django ties a session to the password hash; "sign out everywhere" also ends them
        # by raising the generation. Generation 0 keeps Django's own hash, so the sessions
        # open when this field arrived stay open.
        if not self.sessions_generation:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "vestibule.accounts.Account.session_auth_hash",
            f"{self.password}:{self.sessions_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_short_name(self) -> str:
        return self.first_name or self.email


class ConfirmationManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(purpose__in=Confirmation.PURPOSES)


class Confirmation(Token):
    """An account's e-mailed link (activation, password reset): a token of
    `vestibule.tokens`, bound to the account.

    `payload` holds the JSON state of the flow that sent it, so the link resumes that flow,
    also in another browser.
    """

    PURPOSES = (Token.Purpose.ACTIVATION, Token.Purpose.RECOVERY)

    objects = ConfirmationManager()

    class Meta:
        proxy = True
        verbose_name = _("e-mailed link")
        verbose_name_plural = _("e-mailed links")


class SecurityAnswer(models.Model):
    """A member's answer to one of the profile's security questions, hashed like a password."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="security_answers")
    question = models.CharField(_("question"), max_length=64)
    answer_hash = models.CharField(max_length=256)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("security answer")
        verbose_name_plural = _("security answers")
        constraints = [
            models.UniqueConstraint(fields=["account", "question"], name="one_answer_per_question")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.question}"


class SessionRecord(models.Model):
    """One open session of an account, as the member sees it under « Sessions actives ».

    Sessions may live in the database or in the cache, neither of which lists them by
    account; this row does. It holds the session key sealed (Fernet, the outbox's key), so
    ending a session from another browser deletes it from whichever store holds it, and a
    digest of the key to find the row from the session in hand.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="session_records")
    key_digest = models.CharField(max_length=64, unique=True)
    sealed_key = models.TextField()
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    ip_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    created_at = models.DateTimeField(_("signed in"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last used"), default=timezone.now)

    class Meta:
        ordering = ["-last_seen_at"]
        verbose_name = _("session")
        verbose_name_plural = _("sessions")

    def __str__(self) -> str:
        return f"{self.account_id} {self.created_at:%Y-%m-%d %H:%M}"
