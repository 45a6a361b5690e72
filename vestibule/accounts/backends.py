from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.dispatch import Signal
from django.http import HttpRequest

from vestibule.accounts.lockout import sign_in_attempt
from vestibule.accounts.models import Account

# Asked before authenticate() lets an account in. Second factors live above accounts: their
# app answers True for an account that must give one, which authenticate() cannot ask for.
# Arguments: account.
second_factor_needed = Signal()


def needs_second_factor(account: Account) -> bool:
    return any(answer for _receiver, answer in second_factor_needed.send(Account, account=account))


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
        if needs_second_factor(result.account):
            return None
        return result.account
