from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from vestibule.accounts.lockout import sign_in_attempt
from vestibule.accounts.models import Account


class IdentifierBackend(ModelBackend):
    """Sign-in by e-mail or member code, through the same lockout, blocking and audit as the
    sign-in page: whatever calls Django's authenticate() (the admin console's login, a later
    API) gets no way around them."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Account | None:
        if request is None or username is None or password is None:
            return None
        result = sign_in_attempt(identifier=username, password=password, request=request)
        if result.outcome == "ok" and self.user_can_authenticate(result.account):
            return result.account
        return None
