from typing import Any

from vestibule.accounts.factors import second_factor_needed
from vestibule.accounts.models import Account
from vestibule.mfa.policy import has_factor, mfa_policy


def needs_second_factor(sender: Any, account: Account, **kwargs: Any) -> bool:
    """An account with a factor gives it; one under a "required" policy enrols one first."""
    return has_factor(account) or mfa_policy(account) == "required"


second_factor_needed.connect(needs_second_factor, dispatch_uid="mfa_second_factor_needed")
