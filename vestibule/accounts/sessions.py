from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY, login
from django.http import HttpRequest

from vestibule.accounts.middleware import session_start
from vestibule.accounts.models import Account

BACKEND = "vestibule.accounts.backends.IdentifierBackend"


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
