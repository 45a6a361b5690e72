"""Fixtures of the flow tests."""

import pytest

from tests.factories import make_account
from tests.flows.walk import ANSWERS
from vestibule.accounts.models import Account
from vestibule.accounts.security_questions import security_answers_set


@pytest.fixture
def physician(use_profile, settings) -> Account:
    """Seed 002's physician, with three security answers; the captcha answer is fixed."""
    use_profile("physicians")
    settings.VESTIBULE_CAPTCHA_FIXED_ANSWER = "12345"
    account = make_account(email="50143904@50143904.com", code="54321", kind="physician")
    security_answers_set(account=account, answers=ANSWERS)
    return account
