"""Issue 14: staff without an action's permission cannot take it (the matrix).

Each action of the support page × a staff account holding only its permission × a staff
account holding every other one × a superuser × a signed-in member × no one. Without the
permission: refused (403, or the sign-in page) and nothing changes, nothing is audited.
With it: the account changes and the audit log names the staff account that acted.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from tests.factories import make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.support.views import ACTIONS
from vestibule.tokens.models import Token

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Case:
    """What an action needs before, posts, and leaves after."""

    action: str
    permission: str  # codename, app "accounts"
    event: str  # the audit event it records
    done: Callable[[Account | None], bool]  # the account (None once deleted) shows the change
    data: dict = field(default_factory=dict)
    target: dict = field(default_factory=dict)  # fields of the account acted on


def _reloaded(account: Account | None) -> Account | None:
    return Account.objects.filter(pk=account.pk).first() if account is not None else None


CASES = [
    Case(
        "disable",
        "disable_account",
        "account.disabled",
        lambda account: account.status == Account.Status.DISABLED,
        data={"reason": "Fraude signalée"},
    ),
    Case(
        "enable",
        "disable_account",
        "account.enabled",
        lambda account: account.status == Account.Status.ACTIVE,
        target={
            "status": Account.Status.DISABLED,
            "disabled_at": timezone.now(),
            "disabled_reason": "Fraude signalée",
            "disabled_cause": Account.DisabledCause.STAFF,
            "activated_at": timezone.now(),
        },
    ),
    Case(
        "delete",
        "delete_account",
        "account.deleted",
        lambda account: account is None,
        data={"reason": "Demande écrite"},
    ),
    Case(
        "end_sessions",
        "end_account_sessions",
        "account.signed_out_everywhere",
        lambda account: account.sessions_generation == 1,
    ),
    Case(
        "change_email",
        "change_account_email",
        "email_change.requested",
        lambda account: Token.objects.filter(
            account=account, purpose=Token.Purpose.EMAIL_CHANGE
        ).exists(),
        data={"new_email": "nouvelle@example.org"},
    ),
    Case(
        "send_reset",
        "send_account_links",
        "recovery.link_sent",
        lambda account: Token.objects.filter(
            account=account, purpose=Token.Purpose.RECOVERY
        ).exists(),
    ),
    Case(
        "resend_activation",
        "send_account_links",
        "activation.sent",
        lambda account: Token.objects.filter(
            account=account, purpose=Token.Purpose.ACTIVATION
        ).exists(),
        target={"status": Account.Status.PENDING},
    ),
    Case(
        "export",
        "export_account",
        "account.exported",
        lambda account: Event.objects.filter(kind="account.exported").exists(),
    ),
    Case(
        "unlock",
        "change_account",
        "account.unlocked",
        lambda account: account.locked_at is None,
        target={"locked_at": timezone.now()},
    ),
]
CASES = [case for case in CASES if case.action in ACTIONS]
ACTION_PERMISSIONS = sorted({case.permission for case in CASES})


def url(case: Case, account: Account) -> str:
    return f"/admin/accounts/account/{account.pk}/support/{case.action.replace('_', '-')}/"


def staff_with(email: str, codenames: list[str]) -> Account:
    staff = make_account(email=email, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames)
    )
    return staff


def actor_for(role: str, case: Case) -> Account | None:
    if role == "with":
        return staff_with("soutien@example.org", [case.permission])
    if role == "without":
        others = [c for c in ACTION_PERMISSIONS if c != case.permission] + ["view_account"]
        return staff_with("commis@example.org", others)
    if role == "superuser":
        return make_account(email="chef@example.org", is_staff=True, is_superuser=True)
    if role == "member":
        return make_account(email="membre@example.org")
    return None


@pytest.mark.parametrize("case", CASES, ids=[case.action for case in CASES])
@pytest.mark.parametrize("role", ["with", "without", "superuser", "member", "anonymous"])
def test_each_action_needs_its_permission(case: Case, role: str):
    target = make_account(email="cible@example.org", **case.target)
    actor = actor_for(role, case)
    client = Client()
    if actor is not None:
        client.force_login(actor)
    Event.objects.all().delete()  # the fixtures' own grants

    response = client.post(url(case, target), case.data)

    after = _reloaded(target)
    if role in ("with", "superuser"):
        assert response.status_code in (200, 302)
        assert case.done(after)
        event = Event.objects.get(kind=case.event)
        assert event.data["by"] == actor.email
    else:
        if role == "without":
            assert response.status_code == 403
        else:  # not staff: the admin sends them to sign in
            assert response.status_code == 302
            assert "/admin/login/" in response["Location"]
        assert after is not None and not case.done(after)
        assert not Event.objects.exists()


@pytest.mark.parametrize("case", CASES, ids=[case.action for case in CASES])
def test_an_unknown_account_is_not_found(case: Case):
    client = Client()
    client.force_login(make_account(email="chef@example.org", is_staff=True, is_superuser=True))
    missing = Account(pk=999_999)
    assert client.post(url(case, missing), case.data).status_code == 404


@pytest.mark.parametrize("case", CASES, ids=[case.action for case in CASES])
def test_an_action_is_never_taken_on_a_get(case: Case):
    target = make_account(email="cible@example.org", **case.target)
    client = Client()
    client.force_login(make_account(email="chef@example.org", is_staff=True, is_superuser=True))
    Event.objects.all().delete()
    response = client.get(url(case, target))
    assert response.status_code in (405, 200)
    assert not case.done(_reloaded(target))
    assert not Event.objects.filter(kind=case.event).exists()
