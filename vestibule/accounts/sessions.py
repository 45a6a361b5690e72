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
