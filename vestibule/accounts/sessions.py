from django.contrib.auth import login
from django.http import HttpRequest

from vestibule.accounts.middleware import session_start
from vestibule.accounts.models import Account

BACKEND = "vestibule.accounts.backends.IdentifierBackend"


def account_sign_in(request: HttpRequest, account: Account) -> None:
    """Open a session for `account`: a new session key every time (Django's login cycles it)."""
    login(request, account, backend=BACKEND)
    session_start(request)
