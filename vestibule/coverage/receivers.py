from typing import Any

from django.http import HttpRequest

from vestibule.accounts.models import Account
from vestibule.config import get_profile
from vestibule.coverage.services import coverage_link_by_email


def coverage_for_new_account(
    *, account: Account, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Seed 004: an account activated with an invited address is linked to its coverage at once."""
    if get_profile().regions:
        coverage_link_by_email(account=account, request=request)
