"""Sign-in with lockout (per account and per typed identifier) and address blocking.

Order matters: a blocked address or a locked account is refused before any password
hash is computed, so refusals are cheap and attempts while locked are not counted.
"""

import dataclasses
from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.models import Account
from vestibule.accounts.selectors import account_by_identifier
from vestibule.audit.services import event_record, event_record_coalesced
from vestibule.config import Profile, get_profile
from vestibule.notifications.services import message_enqueue
from vestibule.registry.identifiers import identifier_parse
from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip

# Consecutive failures are forgotten after this long without a new one.
FAILURE_MEMORY = 30 * 24 * 3600
# Wrong security answers: the profile's lockout threshold of them per day.
ANSWER_MEMORY = 24 * 3600


@dataclasses.dataclass(frozen=True)
class SignIn:
    # "ok", "invalid", "locked", "blocked" (address), "pending" (right password, not activated)
    outcome: str
    account: Account | None = None
    retry_minutes: int = 0


def _typed_key(raw: str, profile: Profile) -> str:
    identifier = identifier_parse(raw, profile)
    return identifier.email or identifier.code or raw.strip().lower()


def _failure_rate(profile: Profile) -> counters.Rate:
    return counters.Rate(profile.lockout.threshold, FAILURE_MEMORY)


def _lock_seconds(profile: Profile) -> int:
    """How long an unknown identifier stays "locked": as long as an account would."""
    return profile.lockout.cooloff_minutes * 60 or FAILURE_MEMORY


def account_is_locked(account: Account, profile: Profile | None = None) -> bool:
    """Locked, unless the profile's cool-off has passed (then it unlocks by itself)."""
    if account.locked_at is None:
        return False
    cooloff = (profile or get_profile()).lockout.cooloff_minutes
    if cooloff and account.locked_at + timedelta(minutes=cooloff) <= timezone.now():
        account_unlock(account=account, event="account.unlocked_cooloff")
        return False
    return True


def failures_forget(account: Account) -> None:
    """Reset the consecutive-failure counts of the account and of its identifiers."""
    identifiers = [account.email.lower(), *([account.code] if account.code else [])]
    counters.clear_many(
        [
            ("account_failures", str(account.pk)),
            ("answer_failures", f"account:{account.pk}"),
            *(("identifier_failures", identifier) for identifier in identifiers),
            *((counters.blocks("identifier"), identifier) for identifier in identifiers),
        ]
    )


def account_unlock(
    *,
    account: Account,
    event: str = "account.unlocked",
    request: HttpRequest | None = None,
    **data: object,
) -> bool:
    """Unlock `account` if it is locked (audited); False when it was not locked."""
    unlocked = Account.objects.filter(pk=account.pk, locked_at__isnull=False).update(locked_at=None)
    account.locked_at = None
    failures_forget(account)
    if unlocked:
        event_record(event, request=request, account=account, **data)
    return bool(unlocked)


@transaction.atomic
def _account_lock(account: Account, request: HttpRequest) -> None:
    updated = Account.objects.filter(pk=account.pk, locked_at__isnull=True).update(
        locked_at=timezone.now()
    )
    if updated:
        event_record("account.locked", request=request, account=account)
        message_enqueue(
            template="account_locked",
            to=account.email,
            language=account.language,
            context={"account": account},
        )


def _record_failure(
    account: Account | None, typed: str, ip: str, profile: Profile, request: HttpRequest
) -> None:
    block = profile.address_block
    failures_here = counters.hit(
        "address_failures", ip, counters.Rate(block.threshold, block.window_minutes * 60)
    )
    if failures_here >= block.threshold:
        counters.block("address", ip, block.block_minutes * 60)
        counters.clear("address_failures", ip)
        event_record("address.blocked", request=request, subject=ip)
    rate = _failure_rate(profile)
    identifier_failures = counters.hit("identifier_failures", typed, rate)
    if account is None:
        event_record("sign_in.failed", request=request, subject=typed[:254], known=False)
        if identifier_failures >= profile.lockout.threshold:
            # Locked from now, for as long as an account is: the same story as a real one.
            counters.block("identifier", typed, _lock_seconds(profile))
            counters.clear("identifier_failures", typed)
        return
    failures = counters.hit("account_failures", str(account.pk), rate)
    event_record("sign_in.failed", request=request, account=account, failures=failures)
    if max(failures, identifier_failures) >= profile.lockout.threshold:
        _account_lock(account, request)


def failure_record(*, account: Account | None, typed: str, request: HttpRequest) -> bool:
    """Count a failed proof other than a password (e.g. security answers); True if now locked."""
    profile = get_profile()
    _record_failure(account, _typed_key(typed, profile), client_ip(request), profile, request)
    if account is None:
        return counters.blocked_for("identifier", _typed_key(typed, profile)) > 0
    account.refresh_from_db(fields=["locked_at"])
    return account.locked_at is not None


def address_blocked_minutes(request: HttpRequest) -> int:
    """Minutes left on the block of the request's address (0: not blocked); logs a refusal."""
    ip = client_ip(request)
    wait = counters.blocked_for("address", ip)
    if not wait:
        return 0
    event_record_coalesced("sign_in.refused_blocked", key=ip, request=request, subject=ip)
    return -(-wait // 60)


def _answer_subject(account: Account | None, typed: str, profile: Profile) -> str:
    return f"account:{account.pk}" if account else f"typed:{_typed_key(typed, profile)}"


def answers_refused(*, account: Account | None, typed: str) -> bool:
    """Whether the security answers of `account` (or of an unknown `typed`) may not be tried.

    Not the account lock: a locked member must still be able to reset their password, and
    the reset is what unlocks. Known and unknown identifiers reach the cap after the same
    number of wrong answers, so the refusal tells nothing of who has an account.
    """
    profile = get_profile()
    subject = _answer_subject(account, typed, profile)
    return counters.count("answer_failures", subject) >= profile.lockout.threshold


def answer_failure_record(*, account: Account | None, typed: str, request: HttpRequest) -> bool:
    """Count wrong security answers (also toward the lockout); True when now refused."""
    profile = get_profile()
    failure_record(account=account, typed=typed, request=request)
    rate = counters.Rate(profile.lockout.threshold, ANSWER_MEMORY)
    return counters.hit("answer_failures", _answer_subject(account, typed, profile), rate) >= (
        rate.limit
    )


def sign_in_attempt(*, identifier: str, password: str, request: HttpRequest) -> SignIn:
    """Check one sign-in attempt; the caller signs the account in when outcome is "ok"."""
    profile = get_profile()
    ip = client_ip(request)
    minutes = address_blocked_minutes(request)
    if minutes:
        return SignIn("blocked", retry_minutes=minutes)

    typed = _typed_key(identifier, profile)
    account = account_by_identifier(identifier, profile)
    if account is not None and account_is_locked(account, profile):
        event_record_coalesced(
            "sign_in.refused_locked", key=str(account.pk), request=request, account=account
        )
        return SignIn("locked", account)
    if account is None and counters.blocked_for("identifier", typed):
        # Same answer as for a locked account, so nothing tells whether this one exists.
        return SignIn("locked")

    if account is None:
        Account().set_password(password)  # the same hashing time as for a real account
        _record_failure(None, typed, ip, profile, request)
        return SignIn("invalid")
    if not account.check_password(password) or account.status == Account.Status.DISABLED:
        _record_failure(account, typed, ip, profile, request)
        return SignIn("invalid")

    # A success forgets every count of the account: by e-mail and by code alike (the typed
    # identifier is one of the two).
    failures_forget(account)
    if account.status == Account.Status.PENDING:
        event_record("sign_in.pending", request=request, account=account)
        return SignIn("pending", account)
    event_record("sign_in.succeeded", request=request, account=account)
    return SignIn("ok", account)


def password_verify(*, account: Account, password: str, request: HttpRequest) -> SignIn:
    """Check the current password of a signed-in account; a wrong one counts as a failure."""
    profile = get_profile()
    if account_is_locked(account, profile):
        return SignIn("locked", account)
    if account.check_password(password):
        failures_forget(account)
        return SignIn("ok", account)
    _record_failure(account, account.email.lower(), client_ip(request), profile, request)
    account.refresh_from_db(fields=["locked_at"])
    return SignIn("locked" if account.locked_at else "invalid", account)
