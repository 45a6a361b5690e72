from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from vestibule.accounts.models import Account
from vestibule.accounts.selectors import account_by_identifier


class IdentifierBackend(ModelBackend):
    """Sign-in by e-mail or member code; an unknown identifier costs one hash all the same."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Account | None:
        if username is None or password is None:
            return None
        account = account_by_identifier(username)
        if account is None:
            # Same work as a known identifier, so timing does not reveal which exist.
            Account().set_password(password)
            return None
        if account.check_password(password) and self.user_can_authenticate(account):
            return account
        return None
