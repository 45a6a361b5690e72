"""Authenticator apps (TOTP), recovery codes, and removing factors.

A code is a proof like a password: it is checked under the same lockout (reserved on the
account's counters before it is compared, a wrong one counted, a locked account refused
without comparing anything), and accepted once. Every change of an account's factors is
audited and e-mailed to the owner.
"""

import secrets
from datetime import datetime

import pyotp
import segno
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from vestibule.accounts.lockout import (
    Attempt,
    account_is_locked,
    attempt_begin,
    attempt_failed,
    attempt_succeeded,
    password_verify,
)
from vestibule.accounts.models import Account
from vestibule.audit.services import actor_label, event_record
from vestibule.config import get_profile
from vestibule.mfa.models import Factor, RecoveryCode
from vestibule.mfa.policy import factors_of, mfa_policy
from vestibule.notifications.sealing import body_seal, body_unseal
from vestibule.notifications.services import message_enqueue
from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip

TOTP_PERIOD = 30
TOTP_DIGITS = 6
RECOVERY_CODES = 10
# 31 symbols (no 0/o, 1/l/i), 12 of them: about 59 bits a code, read aloud without doubt.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 12
RECOVERY_SALT = "vestibule.mfa.recovery_code"


class FactorRemovalRefused(Exception):
    """The password given to remove a factor was wrong ("invalid") or the account is locked."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


def mfa_change_notify(account: Account, change: str, **context: object) -> None:
    """The notice e-mail of every change to an account's factors (added, removed, codes)."""
    message_enqueue(
        template="mfa_changed",
        to=account.email,
        language=account.language,
        context={"account": account, "change": change, **context},
    )


def _code_normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _proof_begin(account: Account, request: HttpRequest) -> Attempt | None:
    """Reserve one attempt on the account's password counters; None when locked."""
    profile = get_profile()
    if account_is_locked(account, profile):
        return None
    return attempt_begin(
        account=account, typed=account.email.lower(), ip=client_ip(request), profile=profile
    )


def _proof_end(attempt: Attempt, *, account: Account, right: bool, request: HttpRequest) -> bool:
    """Give back a right proof's reservation, count a wrong one; True when accepted."""
    if not right:
        attempt_failed(
            attempt,
            account=account,
            typed=account.email.lower(),
            profile=get_profile(),
            request=request,
        )
        return False
    # Locked by a parallel wrong attempt while this one was checked: refused all the same.
    account.refresh_from_db(fields=["locked_at"])
    if account.locked_at is not None:
        counters.give_back("attempts", attempt.subject)
        return False
    attempt_succeeded(attempt)
    return True


# Authenticator apps


def totp_new() -> str:
    """A fresh shared secret (base32, 160 bits)."""
    return pyotp.random_base32(length=32)


def totp_uri(*, account: Account, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    issuer = get_profile().organisation.name
    issuer_name = issuer.get("fr") or str(issuer)
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=account.identifier, issuer_name=issuer_name
    )


def totp_qr_svg(uri: str) -> str:
    """The QR code of `uri` as inline SVG (no script, no style: the CSP allows it)."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff")


def _totp_step(secret: str, code: str, now: datetime | None) -> int | None:
    """The 30-second step whose code `code` is: the current one or the one before, else None.

    One step back allows for a slow typist or a clock a little behind; older codes are
    refused (RFC 6238 s. 5.2).
    """
    code = _code_normalise(code)
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)
    current = totp.timecode(now or timezone.now())
    for step in (current, current - 1):
        if constant_time_compare(totp.generate_otp(step), code):
            return step
    return None


@transaction.atomic
def totp_confirm(
    *,
    account: Account,
    secret: str,
    code: str,
    name: str,
    request: HttpRequest,
    now: datetime | None = None,
) -> Factor:
    """Add the authenticator app holding `secret`, once it shows a right code.

    Raises ValidationError when the code is wrong (nothing is added).
    """
    step = _totp_step(secret, code, now)
    if step is None:
        raise ValidationError(
            _("This code is not the one your app shows. Check the app and type the new code."),
            code="wrong_code",
        )
    factor = Factor.objects.create(
        account=account,
        kind=Factor.Kind.TOTP,
        name=name.strip() or _("Authenticator app"),
        totp_secret_sealed=body_seal(secret),
        # The confirming code is spent: it cannot sign in afterwards.
        totp_last_step=step,
    )
    event_record("mfa.factor_added", request=request, account=account, factor_kind=factor.kind)
    mfa_change_notify(
        account, "added", factor_name=factor.name, factor_kind=Factor.Kind(factor.kind).label
    )
    return factor


def totp_verify(
    *, account: Account, code: str, request: HttpRequest, now: datetime | None = None
) -> bool:
    """True when `code` is the current (or previous) code of one of the account's apps.

    Counted like a password; a locked account's code is refused unchecked. A step is
    accepted once: the step is written with a conditional UPDATE, so of two requests with
    the same code at once, one is accepted.
    """
    attempt = _proof_begin(account, request)
    if attempt is None:
        return False
    moment = now or timezone.now()
    accepted = False
    for factor in factors_of(account).filter(kind=Factor.Kind.TOTP):
        step = _totp_step(body_unseal(factor.totp_secret_sealed), code, moment)
        if step is None:
            continue
        accepted = bool(
            Factor.objects.filter(pk=factor.pk, totp_last_step__lt=step).update(
                totp_last_step=step, last_used_at=timezone.now()
            )
        )
        break
    return _proof_end(attempt, account=account, right=accepted, request=request)


# Recovery codes


def _recovery_digests(account: Account, code: str) -> list[str]:
    """The code's digest under SECRET_KEY and each fallback (a key rotation keeps the codes)."""
    value = f"{account.pk}:{_code_normalise(code)}"
    return [
        salted_hmac(RECOVERY_SALT, value, secret=secret, algorithm="sha256").hexdigest()
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


def _recovery_code_new() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def recovery_codes_left(account: Account) -> int:
    return RecoveryCode.objects.filter(account=account, used_at__isnull=True).count()


@transaction.atomic
def recovery_codes_generate(*, account: Account, request: HttpRequest) -> list[str]:
    """Ten new single-use codes, to show once; the account's earlier codes stop working."""
    replaced, _deleted = RecoveryCode.objects.filter(account=account).delete()
    codes = [_recovery_code_new() for _ in range(RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(account=account, digest=_recovery_digests(account, code)[0]) for code in codes
    )
    event_record(
        "mfa.recovery_codes_generated", request=request, account=account, replaced=replaced
    )
    mfa_change_notify(account, "recovery_codes")
    return codes


def recovery_code_use(
    *, account: Account, code: str, request: HttpRequest, now: datetime | None = None
) -> bool:
    """True when `code` is one of the account's unused recovery codes, now spent.

    Counted like a password; a locked account's code is refused unchecked.
    """
    attempt = _proof_begin(account, request)
    if attempt is None:
        return False
    used = RecoveryCode.objects.filter(
        account=account, digest__in=_recovery_digests(account, code), used_at__isnull=True
    ).update(used_at=now or timezone.now())
    accepted = _proof_end(attempt, account=account, right=bool(used), request=request)
    if used:
        left = recovery_codes_left(account)
        event_record("mfa.recovery_code_used", request=request, account=account, left=left)
        mfa_change_notify(account, "recovery_code_used", left=left)
    return accepted


# Removal


def factor_remove(*, factor: Factor, password: str, request: HttpRequest) -> None:
    """The member removes one of their factors, after typing their password again.

    Raises FactorRemovalRefused: "required" for the last factor of an account the profile
    requires one of (nothing is checked), "invalid" or "locked" when the password is
    refused (a wrong one counts toward the lockout).
    """
    account = factor.account
    if mfa_policy(account) == "required" and factors_of(account).count() <= 1:
        raise FactorRemovalRefused("required")
    outcome = password_verify(account=account, password=password, request=request).outcome
    if outcome != "ok":
        # Raised outside any transaction: the failure counted (and a lock) must stay.
        raise FactorRemovalRefused(outcome)
    with transaction.atomic():
        # Checked again with the account's factors locked: two removals at once cannot take
        # the last two factors of an account that must keep one.
        remaining = list(factors_of(account).select_for_update().values_list("pk", flat=True))
        if mfa_policy(account) == "required" and len(remaining) <= 1:
            raise FactorRemovalRefused("required")
        _factor_delete(factor, request)


def _factor_delete(factor: Factor, request: HttpRequest) -> None:
    account = factor.account
    Factor.objects.filter(pk=factor.pk).delete()
    event_record("mfa.factor_removed", request=request, account=account, factor_kind=factor.kind)
    mfa_change_notify(
        account, "removed", factor_name=factor.name, factor_kind=Factor.Kind(factor.kind).label
    )


@transaction.atomic
def factors_remove_all(
    *, account: Account, actor: Account | None, reason: str, request: HttpRequest | None
) -> int:
    """Staff remove every factor and recovery code of a member who lost them; the count."""
    removed, _deleted = factors_of(account).delete()
    codes, _deleted = RecoveryCode.objects.filter(account=account).delete()
    event_record(
        "mfa.factors_removed",
        request=request,
        account=account,
        by=actor_label(actor),
        reason=reason,
        factors=removed,
        recovery_codes=codes,
    )
    mfa_change_notify(account, "removed_by_staff")
    return removed


def factors_listed(account: Account) -> QuerySet[Factor]:
    """The account's factors as the security page lists them."""
    return factors_of(account).only("kind", "name", "created_at", "last_used_at", "account")
