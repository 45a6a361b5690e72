"""Account rules: registration, activation, e-mailed links, password changes, purging.

Sign-in and lockout live in `lockout.py`. Every write here records its audit event and
writes its e-mails to the outbox in the same transaction.
"""

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.lockout import account_unlock
from vestibule.accounts.models import Account, Confirmation
from vestibule.accounts.password_policy import password_check, password_check_for
from vestibule.accounts.security_questions import security_answers_set
from vestibule.accounts.sessions import sessions_ended
from vestibule.audit.services import event_record
from vestibule.config import Profile, get_profile
from vestibule.notifications.after_response import after_response
from vestibule.notifications.services import message_enqueue
from vestibule.registry.models import Member
from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip
from vestibule.tokens.models import Token
from vestibule.tokens.services import (
    TokenInvalid,
    token_find,
    token_issue,
    token_spend,
    token_use,
)

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
    # "created": a new pending account; "pending": an earlier pending one, to get a new link
    # (its password is then chosen at activation); "existing": the address already has an
    # active account, whose owner the caller tells by e-mail (account_existing_notify).
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
) -> Token:
    """Create a single-use link for `account` and e-mail it. `path` is formatted with {key}."""
    key, token = token_issue(purpose=purpose, lifetime=lifetime, account=account, payload=payload)
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
    return token


def _link_invalid(invalid: TokenInvalid) -> ConfirmationInvalid:
    return ConfirmationInvalid(invalid.reason, invalid.token.account if invalid.token else None)


def link_check(*, key: str, purpose: str) -> Token:
    """The link's token if it is known, unused and unexpired; nothing is spent."""
    try:
        return token_find(key=key, purpose=purpose)
    except TokenInvalid as invalid:
        raise _link_invalid(invalid) from None


def link_spend(confirmation_id: int | None, *, account: Account | None = None) -> bool:
    """Spend a link (of `account`, when given) in the caller's transaction; False when it
    was used, expired or another account's: of two callers, one wins."""
    try:
        token_spend(token_id=confirmation_id, account=account)
    except TokenInvalid:
        return False
    return True


def link_consume(*, key: str, purpose: str) -> Token:
    """Use a link once, in the caller's transaction: of two concurrent openings, exactly
    one succeeds."""
    try:
        return token_use(key=key, purpose=purpose)
    except TokenInvalid as invalid:
        raise _link_invalid(invalid) from None


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


class PasswordRequired(Exception):
    """The pending account was signed up for more than once: it is activated only with a
    password chosen when its e-mailed link is opened (see account_register)."""


def _signed_up_again(
    *, existing: Account, same_password: bool, request: HttpRequest | None
) -> Registration:
    """A sign-up that met an account of the same address or member; the page is the same."""
    if existing.status == Account.Status.PENDING:
        if not same_password:
            # Never the new password: the first signer's stays, and neither is trusted from
            # now on (see account_register). A statement of its own, so a concurrent
            # activation without a password (account_activate) cannot slip between the
            # check and the mark.
            Account.objects.filter(
                pk=existing.pk, status=Account.Status.PENDING, signed_up_again_at__isnull=True
            ).update(signed_up_again_at=timezone.now())
        event_record(
            "sign_up.repeated", request=request, account=existing, same_password=same_password
        )
        return Registration(existing, "pending")
    if get_profile().registration.mode == "registry":
        event_record(
            "sign_up.refused", request=request, subject=existing.email, reason="has_account"
        )
        raise RegistrationRefused
    event_record("sign_up.existing", request=request, account=existing)
    return Registration(existing, "existing")


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

    An address that already has an account never gets a second one, and the caller shows
    the same page whatever happened (no enumeration): the owner of an active account is
    told by e-mail (account_existing_notify); a pending account gets a new activation link
    at its own address.

    A pending account's password is never replaced by a later sign-up: a stranger signing
    up second with someone's address would set the password that person then activates.
    Nor is the first password trusted once a second sign-up came, since the first may be
    the stranger's (account pre-hijacking: Sudhodanan & Paverd, USENIX Security 2022). So a
    second sign-up with another password marks the account `signed_up_again_at`, and its
    activation links, old and new, then make whoever opens one choose the password
    (account_activate): only the mailbox owner can open them. Safe in both orders: neither
    signer's password survives unless the mailbox owner types it at activation. The same
    password sent again (a double click, a member who lost the e-mail) is the same person
    and marks nothing. An account signed up for once keeps the one-form sign-up of seeds
    000 and 003: its link activates it with that password.

    Raises ValidationError (the password policy) and RegistrationRefused. The caller
    throttles first: every path here hashes the password once, so a registered address
    answers in the same time as a new one.
    """
    profile = get_profile()
    email = email.strip().lower()
    # Before the hash: a password the policy refuses costs none.
    password_check(password, email=email, codes=[code])
    member = None
    if profile.registration.mode == "registry":
        member = Member.objects.filter(code=code, email__iexact=email, active=True).first()
        existing = (
            Account.objects.filter(member=member).first() if member else None
        ) or Account.objects.by_email(email).first()
    else:
        existing = Account.objects.by_email(email).first()
    # One hash on every path, so a registered address answers in the same time as a new
    # one: a pending account's password is checked (the same person sending the form again
    # is no stranger), any other sign-up's password is hashed.
    pending = existing is not None and existing.status == Account.Status.PENDING
    same_password = pending and check_password(password, existing.password)
    password_hash = "" if pending else make_password(password)
    if member is None and profile.registration.mode == "registry":
        raise RegistrationRefused
    if member is not None:
        password_check(
            password, email=email, codes=[code], names=[member.first_name, member.last_name]
        )
    # The hash is done: the writes take their transactions now, never holding a lock (on
    # SQLite, the one writer's) for Argon2id's time.
    if existing is None:
        account = Account(
            email=email,
            code=member.code if member else None,
            kind=member.kind if member else profile.member_kinds[0].key,
            first_name=member.first_name if member else "",
            last_name=member.last_name if member else "",
            member=member,
            language=language,
            region=region or (member.region if member else ""),
            password=password_hash,
        )
        try:
            with transaction.atomic():
                account.save()
                event_record("sign_up.requested", request=request, account=account)
            return Registration(account, "created")
        except IntegrityError:
            # A concurrent sign-up with the same e-mail or member won the race: this one
            # came second, and is treated as such (the same password is the same person:
            # a second hash, paid only by the loser of a race).
            existing = (
                Account.objects.filter(member=member).first() if member else None
            ) or Account.objects.by_email(email).first()
            if existing is None:
                raise RegistrationRefused from None
            same_password = existing.status == Account.Status.PENDING and check_password(
                password, existing.password
            )
    with transaction.atomic():
        return _signed_up_again(existing=existing, same_password=same_password, request=request)


def account_existing_notify(*, account: Account) -> None:
    """Tell an account's owner that someone signed up with their address (if the profile
    asks): on the page, the sign-up looked like any other."""
    if not get_profile().registration.notify_existing_by_email:
        return
    message_enqueue(
        template="already_registered",
        to=account.email,
        language=account.language,
        context={"account": account},
    )


@transaction.atomic
def account_activate(
    *,
    account: Account,
    password: str | None = None,
    security_answers: dict[str, str] | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """Activate a pending account and announce it by e-mail; False if it was not pending.

    `password`, when given, is set now (the policy applies: ValidationError). An account
    signed up for more than once is activated only so (PasswordRequired otherwise), and
    `security_answers` then replace those given at sign-up, which may be a stranger's too.
    """
    pending = Account.objects.filter(pk=account.pk, status=Account.Status.PENDING)
    now = timezone.now()
    if password is None:
        # One statement: a second sign-up committed meanwhile makes it match nothing.
        updated = pending.filter(signed_up_again_at__isnull=True).update(
            status=Account.Status.ACTIVE, activated_at=now
        )
        if not updated and pending.exists():
            raise PasswordRequired
    else:
        password_check_for(password, account)
        updated = pending.update(
            password=make_password(password), status=Account.Status.ACTIVE, activated_at=now
        )
    if not updated:
        return False
    account.refresh_from_db()
    # Other activation links of this account are now pointless.
    Confirmation.objects.filter(
        account=account, purpose=Confirmation.Purpose.ACTIVATION, used_at__isnull=True
    ).update(used_at=timezone.now())
    if security_answers:
        security_answers_set(account=account, answers=security_answers, request=request)
    event_record(
        "account.activated", request=request, account=account, password_chosen=password is not None
    )
    message_enqueue(
        template="account_created",
        to=account.email,
        language=account.language,
        context={"account": account},
    )
    account_activated.send(sender=Account, account=account, request=request)
    return True


def password_prepare(password: str, account: Account) -> str:
    """The policy's verdict on `account`'s new password (ValidationError), then its hash.

    Call it before opening a transaction: Argon2id's ~20 ms then hold no lock (on SQLite, the
    one writer's lock), and a refused password opens none.
    """
    password_check_for(password, account)
    return make_password(password)


def account_set_password(
    *, account: Account, password: str, event: str, request: HttpRequest | None = None
) -> None:
    """Set a new password (password_prepare, then account_password_store)."""
    encoded = password_prepare(password, account)
    account_password_store(account=account, encoded=encoded, event=event, request=request)


@transaction.atomic
def account_password_store(
    *, account: Account, encoded: str, event: str, request: HttpRequest | None = None
) -> None:
    """Store a password hashed by password_prepare: revokes e-mailed links, unlocks, notifies
    the owner. Other sessions end by themselves: Django ties each session to the hash."""
    account_unlock(account=account, event="account.unlocked_by_password", request=request)
    account.password = encoded
    account.save(update_fields=["password"])
    # Links sent before: activation, reset, and a new login e-mail asked for (perhaps by
    # whoever knew the old password).
    Token.objects.filter(
        account=account,
        purpose__in=[*Confirmation.PURPOSES, Token.Purpose.EMAIL_CHANGE],
        used_at__isnull=True,
    ).update(used_at=timezone.now())
    event_record(event, request=request, account=account)
    message_enqueue(
        template="password_changed",
        to=account.email,
        language=account.language,
        context={"account": account},
    )
    # The other sessions end with the old hash; the sections are told too (back-channel).
    sessions_ended.send(sender=Account, account=account, request=request, reason="password")


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


def identifier_remind(*, email: str, request: HttpRequest) -> int:
    """E-mail an active account its identifier; silent for unknown addresses.

    Returns 0, or the seconds to wait when the client's address or the typed e-mail address
    asked too often (nothing is sent then). Only those counts are taken while the visitor
    waits, the typed address counted like an account's (known or not, the same refusal);
    the account is looked up and its e-mail written after the response, so the page takes
    no longer for a known address.
    """
    address = client_ip(request)
    wait = counters.reserve_or_wait("reminder", address, REMINDERS_PER_ADDRESS)
    if wait:
        return wait
    wait = counters.reserve_or_wait("reminder_typed", email.strip().lower(), REMINDERS_PER_ACCOUNT)
    if wait:  # the client's address keeps this request counted
        return wait

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
    return 0
