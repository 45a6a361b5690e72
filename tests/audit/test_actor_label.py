"""Who the audit log names as `by` when no staff account acts: the operator, or an API client."""

import pytest

from tests.factories import make_account
from vestibule.accounts.lifecycle import account_disable
from vestibule.audit.models import Event
from vestibule.audit.services import acting_as, actor_label

pytestmark = pytest.mark.django_db


def test_without_an_account_the_actor_is_the_operator():
    assert actor_label(None) == "operator"


def test_a_staff_account_is_named_by_its_email():
    assert actor_label(make_account(email="agent@example.org")) == "agent@example.org"


def test_an_api_client_is_named_inside_its_block_and_only_there():
    account = make_account()
    with acting_as("api:registre"):
        account_disable(account=account, reason="resigned", actor=None)
        assert actor_label(None) == "api:registre"
    assert actor_label(None) == "operator"
    assert Event.objects.get(kind="account.disabled").data["by"] == "api:registre"
