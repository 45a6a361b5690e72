"""Sign-in with lockout (per account and per typed identifier) and address blocking.

Order matters: a blocked address or a locked account is refused before any password
hash is computed, so refusals are cheap and attempts while locked are not counted.
"""

import dataclasses
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.factors import needs_second_factor
from vestibule.accounts.models import Account
from vestibule.accounts.selectors import account_by_identifier
from vestibule.audit.models import Event
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
    # "ok", "invalid", "locked", "blocked" (address), "pending" (right password, not activated),
    # "disabled" (right password, account disabled by staff, the registry or its establishments)
    outcome: str
    account: Account | None = None
    retry_minutes: int = 0
    # "blocked" only: when the address may try again.
    retry_at: datetime | None = None
    # "ok" only: a second factor must follow before the account is signed in.
    factor_needed: bool = False
    # "locked" only: this very attempt locked it (an account or an unknown identifier alike).
    locked_now: bool = False
    # "locked" only: when the lock ends by itself (the profile's cool-off); None: a reset only.
    unlocks_at: datetime | None = None
    # "invalid" only: one try is left before the lock, and the profile wants it said.
    last_try: bool = False


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


def _subject(account: Account | None, typed: str) -> str:
    """Whose attempts are counted: the account, or the identifier typed when it is unknown."""
    return f"account:{account.pk}" if account is not None else f"typed:{typed}"


def failures_forget(account: Account) -> None:
    """Reset the failure counts of the account (an unlock, a reset): a fresh start."""
    identifiers = [account.email.lower(), *([account.code] if account.code else [])]
    subject = _subject(account, "")
    counters.clear_many(
        [
            ("attempts", subject),
            ("failures", subject),
            ("answer_failures", f"account:{account.pk}"),
            *(("attempts", f"typed:{identifier}") for identifier in identifiers),
            *(("failures", f"typed:{identifier}") for identifier in identifiers),
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


def _cooloff_end(locked_at: datetime, profile: Profile) -> datetime | None:
    cooloff = profile.lockout.cooloff_minutes
    return locked_at + timedelta(minutes=cooloff) if cooloff else None


@transaction.atomic
def _account_lock(account: Account, request: HttpRequest, profile: Profile) -> None:
    locked_at = timezone.now()
    updated = Account.objects.filter(pk=account.pk, locked_at__isnull=True).update(
        locked_at=locked_at
    )
    if updated:
        event_record("account.locked", request=request, account=account)
        # When the failures happened: those recorded since the last success (or lock) count.
        failures = Event.objects.filter(account=account, kind="sign_in.failed").order_by(
            "-created_at"
        )[: profile.lockout.threshold]
        first_failure = min((event.created_at for event in failures), default=locked_at)
        message_enqueue(
            template="account_locked",
            to=account.email,
            language=account.language,
            context={
                "account": account,
                "locked_at": locked_at,
                "first_failure_at": first_failure,
                "failures": profile.lockout.threshold,
                "address": client_ip(request),
                "unlocks_at": _cooloff_end(locked_at, profile),
                "reset_allowed": "recovery" in profile.flows,
            },
        )


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One proof (a password, security answers) reserved on its counters before it is checked.

    Checking first and counting afterwards lets parallel requests all pass the check before
    any is counted (twenty guesses against a limit of five). So the attempt is counted as it
    begins: `attempt_begin` increments the counters atomically and refuses, without
    checking anything, once the threshold is reached; a wrong proof keeps its count, a
    right one gives it back. `forgiven` is the failures that were complete when this attempt
    began: a success forgives those, never the attempts still in flight beside it.
    """

    subject: str
    address: str
    forgiven: int


def attempt_begin(
    *, account: Account | None, typed: str, ip: str, profile: Profile
) -> Attempt | None:
    """Reserve one attempt for the account (or the typed identifier) and the address.

    None when the reservation would go past the lockout threshold: the caller refuses as
    locked, without computing a hash.
    """
    subject = _subject(account, typed)
    rate = _failure_rate(profile)
    reserved = counters.hit("attempts", subject, rate)
    # An unknown identifier's lock clears its counts (a fresh start when the lock ends), so a
    # parallel attempt that reserved after the clear is read against the lock itself, which
    # was set before the clear.
    if reserved > profile.lockout.threshold or (account is None and _identifier_blocked(typed)):
        counters.give_back("attempts", subject)
        return None
    block = profile.address_block
    counters.hit("address_attempts", ip, counters.Rate(block.threshold, block.window_minutes * 60))
    return Attempt(subject, ip, forgiven=counters.count("failures", subject))


def attempt_succeeded(attempt: Attempt) -> None:
    """A right proof: give back its reservation and forgive the failures completed before it."""
    counters.give_back("attempts", attempt.subject, 1 + attempt.forgiven)
    counters.give_back("failures", attempt.subject, attempt.forgiven)
    counters.give_back("address_attempts", attempt.address)


def attempt_passed_partly(attempt: Attempt) -> None:
    """A right password with a second factor still to give: its reservation comes back, but
    nothing is forgiven until the factor is right (else whoever holds the password could
    guess codes, sign in with the password again, and never be locked)."""
    counters.give_back("attempts", attempt.subject)
    counters.give_back("address_attempts", attempt.address)


def attempt_failed(
    attempt: Attempt,
    *,
    account: Account | None,
    typed: str,
    profile: Profile,
    request: HttpRequest,
) -> bool:
    """A wrong proof: it stays counted; True when it locked the account (or the identifier)."""
    failures = _failure_count(
        attempt, account=account, typed=typed, profile=profile, request=request
    )
    return failures >= profile.lockout.threshold


def _failure_count(
    attempt: Attempt,
    *,
    account: Account | None,
    typed: str,
    profile: Profile,
    request: HttpRequest,
) -> int:
    """Count a wrong proof, lock at the threshold; the consecutive failures, this one included."""
    block = profile.address_block
    if counters.count("address_attempts", attempt.address) >= block.threshold:
        counters.block("address", attempt.address, block.block_minutes * 60)
        counters.clear("address_attempts", attempt.address)
        event_record("address.blocked", request=request, subject=attempt.address)
    failures = counters.hit("failures", attempt.subject, _failure_rate(profile))
    locks = failures >= profile.lockout.threshold
    if account is None:
        event_record("sign_in.failed", request=request, subject=typed[:254], known=False)
        if locks:
            # Locked from now, for as long as an account is: the same story as a real one.
            counters.block("identifier", typed, _lock_seconds(profile))
            counters.clear_many([("attempts", attempt.subject), ("failures", attempt.subject)])
        return failures
    event_record("sign_in.failed", request=request, account=account, failures=failures)
    if locks:
        _account_lock(account, request, profile)
    return failures


def _identifier_blocked(typed: str) -> bool:
    return counters.blocked_for("identifier", typed) > 0


def failure_record(*, account: Account | None, typed: str, request: HttpRequest) -> bool:
    """Count a failed proof checked elsewhere (e.g. security answers); True if now locked."""
    profile = get_profile()
    typed = _typed_key(typed, profile)
    attempt = attempt_begin(account=account, typed=typed, ip=client_ip(request), profile=profile)
    if attempt is not None:
        attempt_failed(attempt, account=account, typed=typed, profile=profile, request=request)
    if account is None:
        return _identifier_blocked(typed)
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


def address_block_end(request: HttpRequest) -> datetime:
    """When the block of the request's address ends (now when it is not blocked)."""
    return timezone.now() + timedelta(seconds=counters.blocked_for("address", client_ip(request)))


def _answer_subject(account: Account | None, typed: str, profile: Profile) -> str:
    return f"account:{account.pk}" if account else f"typed:{_typed_key(typed, profile)}"


def answers_begin(*, account: Account | None, typed: str) -> str | None:
    """Reserve one try of the security answers; None once the day's tries are used up.

    Not the account lock: a locked member must still be able to reset their password, and
    the reset is what unlocks. Known and unknown identifiers reach the cap after the same
    number of wrong answers, so the refusal tells nothing of who has an account. Reserved
    before the answers are compared, like a password attempt.
    """
    profile = get_profile()
    subject = _answer_subject(account, typed, profile)
    rate = counters.Rate(profile.lockout.threshold, ANSWER_MEMORY)
    if counters.hit("answer_failures", subject, rate) > rate.limit:
        counters.give_back("answer_failures", subject)
        return None
    return subject


def answers_passed(subject: str) -> None:
    counters.give_back("answer_failures", subject)


def answers_failed(
    subject: str, *, account: Account | None, typed: str, request: HttpRequest
) -> bool:
    """Wrong answers: they stay counted, and count toward the lockout; True when now refused."""
    failure_record(account=account, typed=typed, request=request)
    return counters.count("answer_failures", subject) >= get_profile().lockout.threshold


def sign_in_attempt(*, identifier: str, password: str, request: HttpRequest) -> SignIn:
    """Check one sign-in attempt; the caller signs the account in when outcome is "ok"."""
    profile = get_profile()
    ip = client_ip(request)
    minutes = address_blocked_minutes(request)
    if minutes:
        return SignIn("blocked", retry_minutes=minutes, retry_at=address_block_end(request))

    typed = _typed_key(identifier, profile)
    account = account_by_identifier(identifier, profile)
    if account is not None and account_is_locked(account, profile):
        return _refused_locked(account, request)
    if account is None and _identifier_blocked(typed):
        # Same answer as for a locked account, so nothing tells whether this one exists.
        return _identifier_locked(typed)

    attempt = attempt_begin(account=account, typed=typed, ip=ip, profile=profile)
    if attempt is None:
        # Others in flight hold every remaining try: no hash for this one.
        return _refused_locked(account, request) if account else _identifier_locked(typed)

    if account is None:
        Account().set_password(password)  # the same hashing time as for a real account
    elif account.check_password(password):
        return _password_accepted(account, attempt, request)
    failures = _failure_count(
        attempt, account=account, typed=typed, profile=profile, request=request
    )
    return _failed(failures, account, profile)


def _failed(failures: int, account: Account | None, profile: Profile) -> SignIn:
    """What a wrong password is told: the same for an account and an unknown identifier.

    The attempt that reaches the threshold says the lock at once; where the profile wants
    it, the one before says that one try is left.
    """
    threshold = profile.lockout.threshold
    if failures >= threshold:
        unlocks_at = _cooloff_end(timezone.now(), profile)
        return SignIn("locked", account, locked_now=True, unlocks_at=unlocks_at)
    last_try = profile.lockout.warn_before_last and failures == threshold - 1
    return SignIn("invalid", account, last_try=last_try)


def _identifier_locked(typed: str) -> SignIn:
    """An unknown identifier "locked": it ends when an account's lock would (the cool-off)."""
    unlocks_at = None
    if get_profile().lockout.cooloff_minutes:
        unlocks_at = timezone.now() + timedelta(seconds=counters.blocked_for("identifier", typed))
    return SignIn("locked", unlocks_at=unlocks_at)


@transaction.atomic
def _password_accepted(account: Account, attempt: Attempt, request: HttpRequest) -> SignIn:
    """A right password: unless a parallel attempt locked the account while this one was
    hashing. The lock is read again under the row's lock (SQLite: the write transaction), so
    a lock written beside this sign-in is either seen here or recorded after its success."""
    account.locked_at, account.status = (
        Account.objects.select_for_update()
        .filter(pk=account.pk)
        .values_list("locked_at", "status")
        .get()
    )
    if account.locked_at is not None:
        counters.give_back("attempts", attempt.subject)
        return _refused_locked(account, request)
    factor_needed = account.status == Account.Status.ACTIVE and needs_second_factor(account)
    if factor_needed:
        attempt_passed_partly(attempt)
    else:
        attempt_succeeded(attempt)
    if account.status == Account.Status.DISABLED:
        # Only whoever knows the password learns that the account is disabled (and whom to
        # ask); a wrong password above got the same "invalid" as an unknown identifier.
        event_record_coalesced(
            "sign_in.refused_disabled", key=str(account.pk), request=request, account=account
        )
        return SignIn("disabled", account)
    if account.status == Account.Status.PENDING:
        event_record("sign_in.pending", request=request, account=account)
        return SignIn("pending", account)
    # With a factor to follow, the sign-in succeeds at the flow's end (flows/stages/second_factor).
    kind = "sign_in.password_accepted" if factor_needed else "sign_in.succeeded"
    event_record(kind, request=request, account=account)
    return SignIn("ok", account, factor_needed=factor_needed)


def _refused_locked(account: Account, request: HttpRequest) -> SignIn:
    event_record_coalesced(
        "sign_in.refused_locked", key=str(account.pk), request=request, account=account
    )
    unlocks_at = None
    if account.locked_at is not None:
        unlocks_at = _cooloff_end(account.locked_at, get_profile())
    return SignIn("locked", account, unlocks_at=unlocks_at)


def password_verify(*, account: Account, password: str, request: HttpRequest) -> SignIn:
    """Check the current password of a signed-in account; a wrong one counts as a failure."""
    profile = get_profile()
    if account_is_locked(account, profile):
        return SignIn("locked", account)
    typed = account.email.lower()
    attempt = attempt_begin(account=account, typed=typed, ip=client_ip(request), profile=profile)
    if attempt is None:
        return SignIn("locked", account)
    if account.check_password(password):
        attempt_succeeded(attempt)
        return SignIn("ok", account)
    locked = attempt_failed(attempt, account=account, typed=typed, profile=profile, request=request)
    return SignIn("locked" if locked else "invalid", account)
