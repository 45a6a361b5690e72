from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from vestibule.accounts.lockout import sign_in_attempt
from vestibule.accounts.models import Account


class IdentifierBackend(ModelBackend):
    """Sign-in by e-mail or member code, through the same lockout, blocking and audit as the
    sign-in page: whatever calls Django's authenticate() (the admin console's login, a later
    API) gets no way around them, nor around a second factor: an account that needs one
    signs in on the sign-in page only."""

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
        if result.outcome != "ok" or not self.user_can_authenticate(result.account):
            return None
        if result.factor_needed:
            return None
        return result.account
