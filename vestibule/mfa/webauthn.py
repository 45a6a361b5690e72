"""Passkeys and security keys (WebAuthn), checked by py_webauthn: no cryptography here.

A ceremony is two requests: the options (with a fresh challenge, kept in the session) and
the browser's answer. The challenge is popped from the session when the answer arrives, so
it serves once, only in the session it was made for, and only for a few minutes. The
relying party (its id and origin) is the portal's public address, VESTIBULE_BASE_URL; in
development, the address the request came to, so localhost:PORT works as well.

An assertion is a proof like a password: it is checked under the same lockout (reserved on
the account's counters first, a wrong one counted, a locked account refused unchecked).
"""

import json
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from vestibule.accounts.lockout import (
    account_is_locked,
    address_blocked_minutes,
    attempt_begin,
    attempt_failed,
    attempt_succeeded,
)
from vestibule.accounts.models import Account
from vestibule.audit.services import event_record
from vestibule.config import get_profile
from vestibule.mfa.models import Factor
from vestibule.mfa.services import mfa_change_notify
from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip

REGISTRATION_KEY = "mfa.passkey.registration"
AUTHENTICATION_KEY = "mfa.passkey.authentication"
CEREMONY_SECONDS = 300
USER_HANDLE_SALT = "vestibule.mfa.webauthn.user_handle"
# What a browser may send back, however broken: refused before any parsing beyond it.
CREDENTIAL_MAX_CHARS = 64_000


class PasskeyRefused(Exception):
    """A passkey answer refused; `reason` says why, `message` tells the member.

    Reasons: "expired" (no challenge in this session, already used, or too old), "invalid"
    (not a passkey of this account, a wrong signature, origin or relying party, a signature
    counter gone backwards), "duplicate" (registered already), "locked" (the account),
    "blocked" (the client's address), "inactive" (the account cannot sign in).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        messages = {
            "expired": _("The request has expired. Please try again."),
            "duplicate": _("This passkey is already registered."),
            "locked": _(
                "Too many failed attempts: your account is locked. "
                "Reset your password to unlock it."
            ),
            "blocked": _("Too many requests from your address. Try again later."),
            "inactive": _("This account cannot sign in."),
        }
        return messages.get(self.reason, _("This passkey was not accepted. Please try again."))


def relying_party(request: HttpRequest) -> tuple[str, str]:
    """The relying party's id (a host name) and the origin the browser must report.

    From VESTIBULE_BASE_URL in production; in development, from the request (its Host was
    checked against ALLOWED_HOSTS), so the demo works at localhost as at 127.0.0.1 — though
    browsers refuse an IP address as relying-party id, so a passkey needs a name there.
    """
    if settings.PRODUCTION:
        origin = settings.VESTIBULE_BASE_URL.rstrip("/")
    else:
        origin = f"{request.scheme}://{request.get_host()}"
    parts = urlsplit(origin)
    origin = f"{parts.scheme}://{parts.netloc}"
    rp_id = getattr(settings, "VESTIBULE_WEBAUTHN_RP_ID", "") or (parts.hostname or "")
    return rp_id, origin


def user_handle(account: Account) -> bytes:
    """The account's WebAuthn user id: stable, and nothing about the person (no e-mail)."""
    return salted_hmac(USER_HANDLE_SALT, str(account.pk), algorithm="sha256").digest()


def _rp_name() -> str:
    name = get_profile().organisation.name
    return str(name) or "Vestibule"


def _ceremony_begin(request: HttpRequest, key: str, challenge: bytes, account_id: int | None):
    request.session[key] = {
        "challenge": bytes_to_base64url(challenge),
        "account_id": account_id,
        "expires": int(time.time()) + CEREMONY_SECONDS,
    }


def _ceremony_end(request: HttpRequest, key: str, account_id: int | None) -> bytes:
    """The challenge of this session's ceremony, removed so it serves once; refused if none."""
    state = request.session.pop(key, None)
    if (
        not isinstance(state, dict)
        or state.get("expires", 0) < time.time()
        or state.get("account_id") != account_id
    ):
        raise PasskeyRefused("expired")
    return base64url_to_bytes(state["challenge"])


def _passkeys(account: Account):
    return Factor.objects.filter(account=account, kind=Factor.Kind.WEBAUTHN)


def _descriptors(account: Account) -> list[PublicKeyCredentialDescriptor]:
    descriptors = []
    for factor in _passkeys(account).only("credential_id", "transports"):
        transports = []
        for value in factor.transports or []:
            try:
                transports.append(AuthenticatorTransport(value))
            except ValueError:
                continue
        descriptors.append(
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(factor.credential_id), transports=transports or None
            )
        )
    return descriptors


# Registration


def registration_options(*, request: HttpRequest, account: Account) -> dict[str, Any]:
    """Options for navigator.credentials.create(), as JSON-able data; the challenge is kept."""
    rp_id, _origin = relying_party(request)
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=_rp_name(),
        user_id=user_handle(account),
        user_name=account.identifier,
        user_display_name=account.full_name or account.email,
        timeout=CEREMONY_SECONDS * 1000,
        attestation=AttestationConveyancePreference.NONE,
        # Discoverable where the authenticator can (a passkey for passwordless sign-in);
        # user verification (PIN, fingerprint) asked for, not demanded of a plain key.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(account),
    )
    _ceremony_begin(request, REGISTRATION_KEY, options.challenge, account.pk)
    return options_to_json_dict(options)


@transaction.atomic
def registration_verify(
    *, request: HttpRequest, account: Account, credential: str, name: str
) -> Factor:
    """Add the passkey the browser created for `account` (its answer as JSON).

    Raises PasskeyRefused ("expired", "invalid", "duplicate"); nothing is added then.
    """
    challenge = _ceremony_end(request, REGISTRATION_KEY, account.pk)
    rp_id, origin = relying_party(request)
    if len(credential) > CREDENTIAL_MAX_CHARS:
        raise PasskeyRefused("invalid")
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        event_record(
            "mfa.passkey_refused", request=request, account=account, reason=str(error)[:200]
        )
        raise PasskeyRefused("invalid") from error
    credential_id = bytes_to_base64url(verified.credential_id)
    try:
        with transaction.atomic():
            factor = Factor.objects.create(
                account=account,
                kind=Factor.Kind.WEBAUTHN,
                name=name.strip()[:64] or _("Passkey"),
                credential_id=credential_id,
                public_key=bytes_to_base64url(verified.credential_public_key),
                sign_count=verified.sign_count,
                transports=[t.value for t in parsed.response.transports or []],
                user_verified=verified.user_verified,
            )
    except IntegrityError as error:
        raise PasskeyRefused("duplicate") from error
    event_record("mfa.factor_added", request=request, account=account, factor_kind=factor.kind)
    mfa_change_notify(
        account, "added", factor_name=factor.name, factor_kind=Factor.Kind(factor.kind).label
    )
    return factor


# Authentication


def authentication_options(*, request: HttpRequest, account: Account | None) -> dict[str, Any]:
    """Options for navigator.credentials.get(); the challenge is kept in the session.

    With an account (the second factor after the password): its passkeys. Without
    (passwordless): any discoverable passkey of this site, the browser offers the choice,
    and the person must be verified by the authenticator, the passkey being the only proof.
    """
    rp_id, _origin = relying_party(request)
    options = generate_authentication_options(
        rp_id=rp_id,
        timeout=CEREMONY_SECONDS * 1000,
        allow_credentials=_descriptors(account) if account is not None else [],
        user_verification=(
            UserVerificationRequirement.PREFERRED
            if account is not None
            else UserVerificationRequirement.REQUIRED
        ),
    )
    _ceremony_begin(request, AUTHENTICATION_KEY, options.challenge, _pk(account))
    return options_to_json_dict(options)


def _pk(account: Account | None) -> int | None:
    return account.pk if account is not None else None


def _counter_advance(factor: Factor, new_count: int) -> bool:
    """Keep the authenticator's new signature count; False if a parallel use got there first.

    A conditional UPDATE: of two assertions with the same count at once, one is accepted.
    """
    passkey = Factor.objects.filter(pk=factor.pk)
    if new_count > 0:
        passkey = passkey.filter(sign_count__lt=new_count)
    else:
        passkey = passkey.filter(sign_count=0)
    return bool(passkey.update(sign_count=new_count, last_used_at=timezone.now()))


def _credential_id(credential: str) -> str:
    """The credential id the answer names (unverified: only to find the passkey)."""
    try:
        value = json.loads(credential)
    except ValueError:
        return ""
    raw = value.get("rawId") or value.get("id") if isinstance(value, dict) else ""
    return raw[:1400] if isinstance(raw, str) else ""


def authentication_verify(
    *, request: HttpRequest, credential: str, account: Account | None
) -> Account:
    """The account whose passkey signed this session's challenge (the answer as JSON).

    `account`: the account expected (second factor), or None (passwordless: the passkey
    says whose it is). Raises PasskeyRefused; a refusal for a known account counts toward
    its lockout, and toward the client address's block either way.
    """
    passwordless = account is None
    challenge = _ceremony_end(request, AUTHENTICATION_KEY, _pk(account))
    if address_blocked_minutes(request):
        raise PasskeyRefused("blocked")
    if len(credential) > CREDENTIAL_MAX_CHARS:
        credential = ""
    credential_id = _credential_id(credential)
    passkeys = Factor.objects.filter(kind=Factor.Kind.WEBAUTHN).select_related("account")
    if account is not None:
        passkeys = passkeys.filter(account=account)
    factor = passkeys.filter(credential_id=credential_id).first() if credential_id else None
    if account is None and factor is not None:
        account = factor.account

    profile = get_profile()
    if account is not None and account_is_locked(account, profile):
        raise PasskeyRefused("locked")
    # An unknown passkey is counted under its own id: only the address's count matters then.
    typed = account.email.lower() if account is not None else f"passkey:{credential_id[:64]}"
    attempt = attempt_begin(account=account, typed=typed, ip=client_ip(request), profile=profile)
    if attempt is None:
        raise PasskeyRefused("locked")

    rp_id, origin = relying_party(request)
    new_count, user_verified = 0, False
    refusal = ""
    if factor is None:
        refusal = "unknown passkey"
    else:
        try:
            verified = verify_authentication_response(
                credential=parse_authentication_credential_json(credential),
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=base64url_to_bytes(factor.public_key),
                # py_webauthn refuses a counter that did not grow (a cloned authenticator),
                # unless both are 0: synced passkeys keep no counter.
                credential_current_sign_count=factor.sign_count,
                require_user_verification=passwordless,
            )
            new_count, user_verified = verified.new_sign_count, verified.user_verified
        except (WebAuthnException, ValueError, TypeError, KeyError) as error:
            refusal = str(error)[:200] or error.__class__.__name__
    if not refusal and not _counter_advance(factor, new_count):
        refusal = "sign count not greater than the last one (used at the same time)"

    if refusal:
        if factor is not None:
            event_record("mfa.passkey_refused", request=request, account=account, reason=refusal)
        attempt_failed(attempt, account=account, typed=typed, profile=profile, request=request)
        raise PasskeyRefused("invalid")

    # Locked by a parallel wrong attempt while this one was checked: refused all the same.
    account.refresh_from_db(fields=["locked_at", "status"])
    if account.locked_at is not None:
        counters.give_back("attempts", attempt.subject)
        raise PasskeyRefused("locked")
    attempt_succeeded(attempt)
    if account.status != Account.Status.ACTIVE:
        raise PasskeyRefused("inactive")
    event_record(
        "mfa.passkey_used",
        request=request,
        account=account,
        factor=factor.name,
        user_verified=user_verified,
        passwordless=passwordless,
    )
    return account
