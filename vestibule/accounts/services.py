"""Account rules: registration, activation, e-mailed links, password changes, purging.

Sign-in and lockout live in `lockout.py`. Every write here records its audit event and
writes its e-mails to the outbox in the same transaction.
"""

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.lockout import account_unlock
from vestibule.accounts.models import Account, Confirmation
from vestibule.accounts.tokens import key_digest, key_new
from vestibule.audit.services import event_record
from vestibule.config import Profile, get_profile
from vestibule.notifications.after_response import after_response
from vestibule.notifications.services import message_enqueue
from vestibule.registry.models import Member
from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip

# Sent inside the activation's transaction; e.g. coverage links the new account (seed 004).
account_activated = Signal()


class RegistrationRefused(Exception):
    """E-mail and code match no member on file, or the member already has an account."""


class ConfirmationInvalid(Exception):
    """The link is unknown, already used or expired; `reason` says which."""

    def __init__(self, reason: str, account: Account | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.account = account


@dataclasses.dataclass(frozen=True)
class Registration:
    account: Account | None
    # "created": a new pending account; "pending": an earlier one, its link sent again;
    # "existing": the address already has an active account, its owner was told by e-mail.
    outcome: str


def link_send(
    *,
    account: Account,
    purpose: str,
    template: str,
    path: str,
    lifetime: timedelta,
    payload: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> Confirmation:
    """Create a single-use link for `account` and e-mail it. `path` is formatted with {key}."""
    key, digest = key_new()
    confirmation = Confirmation.objects.create(
        key_digest=digest,
        purpose=purpose,
        account=account,
        payload=payload or {},
        expires_at=timezone.now() + lifetime,
    )
    message_enqueue(
        template=template,
        to=account.email,
        language=account.language,
        context={
            "account": account,
            "link_path": path.format(key=key),
            "lifetime_hours": int(lifetime.total_seconds() // 3600) or 1,
            **(context or {}),
        },
    )
    return confirmation


def link_check(*, key: str, purpose: str) -> Confirmation:
    """The link's confirmation if it is known, unused and unexpired; nothing is spent."""
    confirmation = (
        Confirmation.objects.select_related("account")
        .filter(key_digest=key_digest(key), purpose=purpose)
        .first()
    )
    if confirmation is None:
        raise ConfirmationInvalid("unknown")
    if confirmation.used_at is not None:
        raise ConfirmationInvalid("used", confirmation.account)
    if confirmation.expires_at <= timezone.now():
        raise ConfirmationInvalid("expired", confirmation.account)
    return confirmation


def link_spend(confirmation_id: int | None) -> bool:
    """Mark a link used if it still is unused and unexpired: of two callers, one wins."""
    return bool(
        Confirmation.objects.filter(
            pk=confirmation_id, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(used_at=timezone.now())
    )


def link_consume(*, key: str, purpose: str) -> Confirmation:
    """Use a link once: of two concurrent openings, exactly one succeeds."""
    confirmation = link_check(key=key, purpose=purpose)
    if not link_spend(confirmation.pk):
        raise ConfirmationInvalid("used", confirmation.account)
    return confirmation


def activation_lifetime(profile: Profile) -> timedelta:
    return timedelta(hours=profile.activation.link_lifetime_hours)


def activation_send(*, account: Account, flow_path: str, payload: dict[str, Any]) -> None:
    profile = get_profile()
    link_send(
        account=account,
        purpose=Confirmation.Purpose.ACTIVATION,
        template="activation",
        path=flow_path,
        lifetime=activation_lifetime(profile),
        payload=payload,
    )
    event_record("activation.sent", account=account)


def _registry_member(*, email: str, code: str) -> Member:
    member = (
        Member.objects.filter(code=code, email__iexact=email, active=True)
        .select_related("account")
        .first()
    )
    if member is None:
        raise RegistrationRefused
    return member


@transaction.atomic
def account_register(
    *,
    email: str,
    password: str,
    language: str,
    code: str = "",
    region: str = "",
    request: HttpRequest | None = None,
) -> Registration:
    """Create a pending account, checked against the registry when the profile asks for it.

    An address that already has an account never gets a second one: a pending account is
    returned for its link to be sent again; an active one's owner is told by e-mail, and
    the caller shows the same page as for a new account (no enumeration).

    A pending account signed up for again takes the new password, and its earlier links
    stop working: someone who signed up first with another person's address (account
    pre-hijacking) cannot have that person activate the account with the stranger's password.
    """
    profile = get_profile()
    email = email.strip().lower()
    # Hashed first, on every path: the answer takes as long whether the address is new or not.
    password_hash = make_password(password)
    member = None
    if profile.registration.mode == "registry":
        member = _registry_member(email=email, code=code)
        existing = (
            Account.objects.filter(member=member).first() or Account.objects.by_email(email).first()
        )
        if existing is not None and existing.status != Account.Status.PENDING:
            event_record("sign_up.refused", request=request, subject=email, reason="has_account")
            raise RegistrationRefused
    else:
        existing = Account.objects.by_email(email).first()

    if existing is not None:
        if existing.status == Account.Status.PENDING:
            with transaction.atomic():
                Account.objects.filter(pk=existing.pk).update(password=password_hash)
                Confirmation.objects.filter(
                    account=existing,
                    purpose=Confirmation.Purpose.ACTIVATION,
                    used_at__isnull=True,
                ).update(used_at=timezone.now())
                event_record("sign_up.repeated", request=request, account=existing)
            return Registration(existing, "pending")
        event_record("sign_up.existing", request=request, account=existing)
        if profile.registration.notify_existing_by_email:
            message_enqueue(
                template="already_registered",
                to=existing.email,
                language=existing.language,
                context={"account": existing},
            )
        return Registration(existing, "existing")

    account = Account(
        email=email,
        code=member.code if member else None,
        kind=member.kind if member else profile.member_kinds[0].key,
        first_name=member.first_name if member else "",
        last_name=member.last_name if member else "",
        member=member,
        language=language,
        region=region or (member.region if member else ""),
    )
    account.password = password_hash
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        # A concurrent sign-up with the same e-mail or member won the race.
        if member is not None:
            raise RegistrationRefused from None
        return Registration(Account.objects.by_email(email).first(), "existing")
    event_record("sign_up.requested", request=request, account=account)
    return Registration(account, "created")


@transaction.atomic
def account_activate(*, account: Account, request: HttpRequest | None = None) -> bool:
    """Activate a pending account and announce it by e-mail; False if it was not pending."""
    updated = Account.objects.filter(pk=account.pk, status=Account.Status.PENDING).update(
        status=Account.Status.ACTIVE, activated_at=timezone.now()
    )
    if not updated:
        return False
    account.refresh_from_db()
    # Other activation links of this account are now pointless.
    Confirmation.objects.filter(
        account=account, purpose=Confirmation.Purpose.ACTIVATION, used_at__isnull=True
    ).update(used_at=timezone.now())
    event_record("account.activated", request=request, account=account)
    message_enqueue(
        template="account_created",
        to=account.email,
        language=account.language,
        context={"account": account},
    )
    account_activated.send(sender=Account, account=account, request=request)
    return True


def password_validate(password: str, account: Account | None = None) -> None:
    """The profile's policy; raises ValidationError listing every reason."""
    password_validation.validate_password(password, account)


@transaction.atomic
def account_set_password(
    *, account: Account, password: str, event: str, request: HttpRequest | None = None
) -> None:
    """Set a new password: revokes e-mailed links, unlocks, notifies the owner.

    Other sessions end by themselves: Django ties each session to the password hash.
    """
    account_unlock(account=account, event="account.unlocked_by_password", request=request)
    account.set_password(password)
    account.save(update_fields=["password"])
    Confirmation.objects.filter(account=account, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    event_record(event, request=request, account=account)
    message_enqueue(
        template="password_changed",
        to=account.email,
        language=account.language,
        context={"account": account},
    )


def account_purge_unactivated(*, now: datetime | None = None, batch: int = 500) -> int:
    """Delete accounts left pending past the profile's delay; free their e-mail and member."""
    delay = timedelta(days=get_profile().activation.purge_unactivated_after_days)
    cutoff = (now or timezone.now()) - delay
    purged = 0
    while True:
        with transaction.atomic():
            stale = list(
                Account.objects.select_for_update(skip_locked=True)
                .filter(status=Account.Status.PENDING, created_at__lt=cutoff)
                .order_by("pk")[:batch]
            )
            if not stale:
                return purged
            for account in stale:
                event_record(
                    "account.purged", subject=account.email, created=str(account.created_at)
                )
            Account.objects.filter(pk__in=[a.pk for a in stale]).delete()
            purged += len(stale)


REMINDERS_PER_ADDRESS = counters.Rate(limit=5, period=3600)
REMINDERS_PER_ACCOUNT = counters.Rate(limit=3, period=3600)


def identifier_remind(*, email: str, request: HttpRequest) -> None:
    """E-mail an active account its identifier; silent for unknown addresses and throttled.

    Only the address's count is taken while the visitor waits; the account is looked up and
    its e-mail written after the response, so the page takes no longer for a known address.
    """
    if counters.hit("reminder", client_ip(request), REMINDERS_PER_ADDRESS) > (
        REMINDERS_PER_ADDRESS.limit
    ):
        return

    @transaction.atomic
    def send() -> None:
        account = Account.objects.by_email(email.strip()).first()
        if account is None or not account.is_active:
            return
        if counters.hit("reminder_account", str(account.pk), REMINDERS_PER_ACCOUNT) > (
            REMINDERS_PER_ACCOUNT.limit
        ):
            return
        message_enqueue(
            template="identifier_reminder",
            to=account.email,
            language=account.language,
            context={"account": account},
        )
        event_record("identifier.reminded", request=request, account=account)

    after_response(request, send)
