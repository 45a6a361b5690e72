"""Whether an account must give a second factor after its password.

Factors live above accounts (the mfa app): it answers this signal, so the sign-in page,
the lockout and Django's authenticate() can ask without importing it.
"""

from django.dispatch import Signal

from vestibule.accounts.models import Account

# Arguments: account. A receiver answers True for an account that must give a factor.
second_factor_needed = Signal()


def needs_second_factor(account: Account) -> bool:
    return any(answer for _receiver, answer in second_factor_needed.send(Account, account=account))
