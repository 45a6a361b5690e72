"""/api/v1/accounts: the support actions of the console, through the same services, with
the API client named as the actor of every event they record."""

import json

import pytest

from tests.api.conftest import bearer
from tests.factories import make_account, make_member
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.audit.services import actor_label, event_record
from vestibule.establishments.models import Establishment, Membership
from vestibule.notifications.models import Message

BASE = "/api/v1/accounts/"


@pytest.fixture
def writer(api_client_factory, api_token):
    credentials = api_client_factory(["accounts:read", "accounts:write"])
    headers = bearer(api_token(["accounts:read", "accounts:write"], credentials))
    return credentials, headers


def _post(client, path: str, headers, payload=None):
    if payload is None:
        return client.post(path, headers=headers)
    return client.post(path, json.dumps(payload), content_type="application/json", headers=headers)


def _problem_type(answer) -> str:
    assert answer["Content-Type"] == "application/problem+json"
    return answer.json()["type"].rsplit("/", 1)[1]


def test_an_account_is_read_by_email_or_licence(client, api_token):
    member = make_member(code="123456")
    account = make_account(member=member)
    place = Establishment.objects.create(name="Clinique du Parc", public_id="E00000001")
    Membership.objects.create(account=account, establishment=place, rights=["manage_users"])
    event_record("sign_in.succeeded", account=account)
    headers = bearer(api_token(["accounts:read"]))
    by_email = client.get(BASE + "MARIE@example.org", headers=headers)
    assert by_email.status_code == 200, by_email.content
    body = by_email.json()
    assert body["email"] == "marie@example.org"
    assert body["member_code"] == "123456"
    assert body["status"] == "active" and body["locked"] is False
    assert body["last_sign_in_at"] is not None
    assert body["memberships"] == [
        {
            "establishment": "Clinique du Parc",
            "establishment_id": "E00000001",
            "rights": ["manage_users"],
            "owner": False,
        }
    ]
    assert client.get(BASE + "123456", headers=headers).json()["email"] == "marie@example.org"


def test_reading_needs_accounts_read(client, api_token, db):
    make_account()
    headers = bearer(api_token(["accounts:write"]))
    answer = client.get(BASE + "marie@example.org", headers=headers)
    assert answer.status_code == 403 and _problem_type(answer) == "insufficient-scope"


def test_an_unknown_account_is_404(client, writer):
    answer = client.get(BASE + "nobody@example.org", headers=writer[1])
    assert answer.status_code == 404 and _problem_type(answer) == "unknown"


def test_disable_with_a_reason_is_audited_with_the_client_as_actor(client, writer):
    credentials, headers = writer
    account = make_account()
    answer = _post(client, BASE + "marie@example.org/disable", headers, {"reason": "left"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["changed"] is True
    assert answer.json()["account"]["status"] == "disabled"
    account.refresh_from_db()
    assert account.status == Account.Status.DISABLED and account.disabled_reason == "left"
    disabled = Event.objects.get(kind="account.disabled")
    assert disabled.data["by"] == f"api:{credentials.client_id}"
    ended = Event.objects.get(kind="account.signed_out_everywhere")
    assert ended.data["by"] == f"api:{credentials.client_id}"
    again = _post(client, BASE + "marie@example.org/disable", headers, {"reason": "left"})
    assert again.status_code == 200 and again.json()["changed"] is False
    # Outside the request, the actor is the operator again.
    assert actor_label(None) == "operator"


def test_disable_needs_a_reason(client, writer):
    make_account()
    answer = _post(client, BASE + "marie@example.org/disable", writer[1], {"reason": ""})
    assert answer.status_code == 422


def test_writing_needs_accounts_write(client, api_token, db):
    make_account()
    headers = bearer(api_token(["accounts:read"]))
    answer = _post(client, BASE + "marie@example.org/disable", headers, {"reason": "left"})
    assert answer.status_code == 403
    assert Account.objects.get().status == Account.Status.ACTIVE


def test_enable_is_refused_while_the_registry_says_inactive(client, writer):
    member = make_member(active=False)
    make_account(member=member, status=Account.Status.DISABLED)
    answer = _post(client, BASE + "marie@example.org/enable", writer[1])
    assert answer.status_code == 409 and _problem_type(answer) == "registry-inactive"
    assert "registry" in answer.json()["detail"]


def test_enable_a_disabled_account(client, writer):
    credentials, headers = writer
    make_account(status=Account.Status.DISABLED)
    answer = _post(client, BASE + "marie@example.org/enable", headers)
    assert answer.status_code == 200 and answer.json()["changed"] is True
    assert Event.objects.get(kind="account.enabled").data["by"] == f"api:{credentials.client_id}"


def test_send_reset_mails_the_member(client, writer):
    credentials, headers = writer
    make_account()
    answer = _post(client, BASE + "marie@example.org/send-reset", headers)
    assert answer.status_code == 200, answer.content
    assert Message.objects.filter(to="marie@example.org", template="password_reset").exists()
    sent = Event.objects.get(kind="recovery.link_sent")
    assert sent.data["by"] == f"api:{credentials.client_id}"


def test_send_reset_is_refused_to_a_pending_account(client, writer):
    make_account(status=Account.Status.PENDING)
    answer = _post(client, BASE + "marie@example.org/send-reset", writer[1])
    assert answer.status_code == 409 and _problem_type(answer) == "not-active"
    assert not Message.objects.exists()


def test_resend_activation_to_a_pending_account(client, writer):
    make_account(status=Account.Status.PENDING)
    answer = _post(client, BASE + "marie@example.org/resend-activation", writer[1])
    assert answer.status_code == 200, answer.content
    assert Message.objects.filter(to="marie@example.org", template="activation").exists()
    active = make_account(email="paul@example.org")
    refused = _post(client, BASE + f"{active.email}/resend-activation", writer[1])
    assert refused.status_code == 409 and _problem_type(refused) == "not-pending"


def test_end_sessions(client, writer):
    credentials, headers = writer
    account = make_account()
    answer = _post(client, BASE + "marie@example.org/end-sessions", headers)
    assert answer.status_code == 200
    account.refresh_from_db()
    assert account.sessions_generation == 1
    ended = Event.objects.get(kind="account.signed_out_everywhere")
    assert ended.data["by"] == f"api:{credentials.client_id}"


@pytest.mark.parametrize("action", ["disable", "enable", "send-reset", "end-sessions"])
def test_staff_accounts_are_not_managed_through_the_api(client, writer, action):
    make_account(is_staff=True)
    answer = _post(
        client,
        BASE + f"marie@example.org/{action}",
        writer[1],
        {"reason": "x"} if action == "disable" else None,
    )
    assert answer.status_code == 403 and _problem_type(answer) == "staff-account"
    assert Account.objects.get().status == Account.Status.ACTIVE
