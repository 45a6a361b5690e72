from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, login
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.http import HttpRequest

from vestibule.accounts.middleware import session_start
from vestibule.accounts.models import Account
from vestibule.audit.services import event_record

BACKEND = "vestibule.accounts.backends.IdentifierBackend"

# Sent (inside the transaction) when every session of an account ends at once: "sign out
# everywhere", a password change or reset. Arguments: account, request (or None), reason.
# The OpenID Connect provider receives it to sign the member out of the sections too
# (accounts never imports oidc). A single sign-out is Django's own `user_logged_out`.
sessions_ended = Signal()


def account_sign_in(request: HttpRequest, account: Account) -> None:
    """Open a session for `account`, under a new session key every time."""
    if SESSION_KEY in request.session:
        # Django's login() keeps the key when the same account signs in again; we don't.
        request.session.cycle_key()
    login(request, account, backend=BACKEND)
    session_start(request)


def sessions_purge_expired() -> None:
    """Delete the sessions past their expiry (what `clearsessions` does), run by send-mail.

    Django never deletes an expired session by itself: in the database they would pile up.
    The cache backend (with Redis) has nothing to do: the cache expires them.
    """
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


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
        by=getattr(actor, "email", "") if actor is not None else "",
    )
    sessions_ended.send(sender=Account, account=account, request=request, reason="everywhere")
