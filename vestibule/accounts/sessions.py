import time
from collections.abc import Sequence
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY, login, update_session_auth_hash
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.middleware import session_start
from vestibule.accounts.models import Account
from vestibule.accounts.session_records import records_end, session_record_open
from vestibule.audit.services import actor_label, event_record
from vestibule.batches import delete_in_batches

BACKEND = "vestibule.accounts.backends.IdentifierBackend"
# How this session's member proved who they are: RFC 8176 method names ("pwd", "otp",
# "hwk", "mfa"…), told to the sections in the id_token's `amr`.
METHODS = "vestibule_amr"

# Sent (inside the transaction) when every session of an account ends at once: "sign out
# everywhere", a password change or reset. Arguments: account, request (or None), reason.
# The OpenID Connect provider receives it to sign the member out of the sections too
# (accounts never imports oidc). A single sign-out is Django's own `user_logged_out`.
sessions_ended = Signal()


def account_sign_in(
    request: HttpRequest, account: Account, methods: Sequence[str] = ("pwd",)
) -> None:
    """Open a session for `account`, under a new session key every time; `methods` are the
    RFC 8176 names of the proofs given (a password, a code, a passkey)."""
    if SESSION_KEY in request.session:
        # Django's login() keeps the key when the same account signs in again; we don't.
        request.session.cycle_key()
    login(request, account, backend=BACKEND)
    session_start(request)
    request.session[METHODS] = list(dict.fromkeys(methods))
    session_record_open(request=request, account=account)


def session_methods(request: HttpRequest) -> list[str]:
    """The sign-in methods of this session (a session opened before they were kept: a password)."""
    if not request.user.is_authenticated:
        return []
    return list(request.session.get(METHODS, ["pwd"]))


def sessions_purge_expired() -> None:
    """Delete the sessions past their expiry (what `clearsessions` does), run by send-mail.

    Django never deletes an expired session by itself: in the database they would pile up.
    The cache backend (with Redis) has nothing to do: the cache expires them. In the
    database, in batches (Django's clear_expired is one DELETE of them all).
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store, "get_model_class"):
        model = store.get_model_class()
        delete_in_batches(model.objects.filter(expire_date__lt=timezone.now()))
    else:
        store.clear_expired()


@transaction.atomic
def sessions_end_everywhere(
    *, account: Account, actor: Account | None, request: HttpRequest | None = None
) -> None:
    """End every session of `account`, in every browser, and tell the sections.

    Sessions may live in the database or in the cache, where they cannot be listed by
    account; raising the account's sessions generation changes its session auth hash, so
    Django ends each of them the next time it is used. The caller's own session ends too:
    a view calls `logout()` after this.
    """
    Account.objects.filter(pk=account.pk).update(sessions_generation=F("sessions_generation") + 1)
    account.refresh_from_db(fields=["sessions_generation"])
    event_record(
        "account.signed_out_everywhere",
        request=request,
        account=account,
        by=actor_label(actor),
    )
    sessions_ended.send(sender=Account, account=account, request=request, reason="everywhere")


@transaction.atomic
def sessions_end_others(*, request: HttpRequest) -> int:
    """« Déconnecter toutes les autres sessions »: every session of the signed-in account
    ends but this one, and the sections are told. Returns how many recorded sessions ended.

    Raising the generation ends the sessions no record lists (opened before records
    existed); this one is carried over to the new generation, under a new key.
    """
    account = request.user
    Account.objects.filter(pk=account.pk).update(sessions_generation=F("sessions_generation") + 1)
    account.refresh_from_db(fields=["sessions_generation"])
    ended = records_end(account.session_records.all(), keep=request)
    event_record("account.signed_out_elsewhere", request=request, account=account, ended=ended)
    sessions_ended.send(sender=Account, account=account, request=request, reason="others")
    # After the signal: its receivers still find this session under its current key.
    update_session_auth_hash(request, account)
    return ended


def _sessions_ended(
    sender: Any, account: Account, request: HttpRequest | None, reason: str, **kwargs: Any
) -> None:
    """Every session of `account` just ended (their auth hash changed): delete them from
    the store now and their records with them. The session of `request` is kept when the
    change keeps it (a password change, « other sessions »); its own sign-out ends it."""
    keep = request if request is not None and getattr(request, "user", None) == account else None
    records_end(account.session_records.all(), keep=keep)
    if reason == "everywhere":
        # This session ends too, at its next request (or the caller's logout()).
        account.session_records.all().delete()


sessions_ended.connect(_sessions_ended, dispatch_uid="accounts_session_records_end")


# A sign-in that needs more than the password, handed to the sign-in flow (flows, above
# accounts, takes it at its next request): only ids and names, never the password.
SIGN_IN_PENDING = "vestibule_sign_in_pending"
SIGN_IN_PENDING_SECONDS = 300


def sign_in_hand_off(
    request: HttpRequest,
    account: Account | None,
    *,
    next_url: str,
    methods: Sequence[str],
    step_up: bool = False,
) -> None:
    """`account` gave `methods` (its password): the sign-in flow asks for the rest.
    No account: a passwordless sign-in, where the passkey says whose it is."""
    request.session[SIGN_IN_PENDING] = {
        "account_id": account.pk if account is not None else None,
        "next": next_url,
        "methods": list(methods),
        "step_up": step_up,
        "at": int(time.time()),
    }


def sign_in_pending_take(request: HttpRequest) -> dict[str, Any] | None:
    """The hand-off left by sign_in_hand_off, once, while it is fresh."""
    pending = request.session.pop(SIGN_IN_PENDING, None)
    if not pending or pending.get("at", 0) + SIGN_IN_PENDING_SECONDS < time.time():
        return None
    return {key: value for key, value in pending.items() if key != "at"}
