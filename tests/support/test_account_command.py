"""`vestibule account …`: the operator's account actions, their refusals and their audit."""

import json
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import PASSWORD, make_account, make_member
from tests.flows.walk import answer, last_link
from tests.load.server import BIN, portal_env
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db


def account(*args: str) -> str:
    out = StringIO()
    call_command("account", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    """The one-line message of a refused action (exit code 2)."""
    with pytest.raises(CommandError) as error:
        account(*args)
    assert error.value.returncode == 2
    message = str(error.value)
    assert "\n" not in message
    return message


def signed_in(email: str) -> Client:
    browser = Client()
    browser.post("/login/", {"identifier": email, "password": PASSWORD})
    assert browser.get("/portal/").status_code == 200
    return browser


# --- show ---------------------------------------------------------------------------------


def test_show_prints_status_lock_sign_ins_and_memberships(use_profile):
    use_profile("extranet")
    marie = make_account(email="marie@example.org")
    member_of(hotel(), "marie@example.org", ["reservations", "users"])
    signed_in("marie@example.org")
    text = account("show", "MARIE@example.org")
    assert "email: marie@example.org" in text and "status: active" in text
    assert "locked: no" in text
    assert "last sign-ins:\n  " in text and "from 127.0.0.1" in text
    assert "Hôtel du Port (H001): reservations, users" in text

    summary = json.loads(account("show", "marie@example.org", "--json"))
    assert summary["id"] == marie.pk and summary["status"] == "active"
    assert summary["locked"] is False
    assert [s["ip_address"] for s in summary["last_sign_ins"]] == ["127.0.0.1"]
    assert summary["memberships"] == [
        {
            "establishment": "Hôtel du Port",
            "establishment_id": "H001",
            "rights": ["reservations", "users"],
            "owner": False,
        }
    ]


def test_an_account_is_found_by_licence_or_user_code(use_profile):
    use_profile("physicians")
    member = make_member(code="54321", kind="physician", email="doc@example.org")
    make_account(email="doc@example.org", kind="physician", code="54321", member=member)
    assert "email: doc@example.org" in account("show", " 543 21 ")
    assert json.loads(account("show", "54321", "--json"))["member_code"] == "54321"


def test_a_locked_account_shows_since_when():
    make_account(locked_at=timezone.now())
    assert "locked: since " in account("show", "marie@example.org")


def test_an_unknown_identifier_is_one_line_and_exit_2():
    assert refused("show", "nobody@example.org") == (
        "No account has this e-mail, licence or user code."
    )
    assert refused("disable", "99999", "--reason", "x")


def test_the_command_line_exits_2_with_one_line_on_stderr(tmp_path):
    env = portal_env(tmp_path)  # its own SQLite file, with marie@example.org
    run = [str(BIN / "vestibule"), "account"]
    unknown = subprocess.run(
        [*run, "show", "nobody@example.org"], env=env, capture_output=True, text=True, timeout=60
    )
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.strip().splitlines() == [
        "CommandError: No account has this e-mail, licence or user code."
    ]
    shown = subprocess.run(
        [*run, "show", "marie@example.org"], env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "status: active" in shown.stdout


# --- disable, enable ----------------------------------------------------------------------


def test_disable_needs_a_reason_ends_the_sessions_and_is_audited_as_the_operator():
    make_account()
    browser = signed_in("marie@example.org")
    assert "disabled marie@example.org" in account(
        "disable", "marie@example.org", "--reason", "fraud"
    )
    assert Account.objects.get().status == Account.Status.DISABLED
    assert browser.get("/portal/").status_code == 302
    event = Event.objects.get(kind="account.disabled")
    assert (event.data["by"], event.data["reason"]) == ("operator", "fraud")
    assert "already disabled" in account("disable", "marie@example.org", "--reason", "again")
    assert Event.objects.filter(kind="account.disabled").count() == 1


def test_disable_with_an_empty_reason_is_refused_and_changes_nothing():
    make_account()
    assert refused("disable", "marie@example.org", "--reason", "  ") == (
        "Give the reason for disabling this account."
    )
    assert Account.objects.get().status == Account.Status.ACTIVE
    with pytest.raises(CommandError):  # no --reason at all: argparse refuses
        account("disable", "marie@example.org")


def test_the_last_superuser_cannot_be_disabled():
    make_account(email="root@example.org", is_staff=True, is_superuser=True)
    assert "last active superuser" in refused("disable", "root@example.org", "--reason", "x")
    assert Account.objects.get().status == Account.Status.ACTIVE


def test_enable_restores_the_account():
    make_account(status=Account.Status.DISABLED, activated_at="2026-01-01T00:00:00Z")
    assert "enabled marie@example.org (active)" in account("enable", "marie@example.org")
    assert Event.objects.get(kind="account.enabled").data["by"] == "operator"
    assert "was not disabled" in account("enable", "marie@example.org")


def test_enable_is_refused_while_the_registry_says_inactive(use_profile):
    use_profile("physicians")
    member = make_member(code="54321", kind="physician", email="doc@example.org", active=False)
    make_account(
        email="doc@example.org", kind="physician", member=member, status=Account.Status.DISABLED
    )
    assert "registry" in refused("enable", "doc@example.org")
    assert Account.objects.get().status == Account.Status.DISABLED


# --- links and sessions -------------------------------------------------------------------


def test_send_reset_mails_a_link_that_resets_the_password(use_profile):
    use_profile("community")
    make_account(email="member@example.org")
    assert "sent to member@example.org" in account("send-reset", "member@example.org")
    browser = Client()
    browser.get(last_link("member@example.org", "password_reset"))
    answer(
        browser, "recovery", password="a new passphrase 42", password_confirm="a new passphrase 42"
    )
    assert Account.objects.get().check_password("a new passphrase 42")
    assert Event.objects.get(kind="recovery.link_sent").data["by"] == "operator"


def test_send_reset_is_refused_for_a_disabled_account():
    make_account(status=Account.Status.DISABLED)
    assert "not active" in refused("send-reset", "marie@example.org")
    assert not Message.objects.exists()


def test_resend_activation_for_a_pending_account_only(use_profile):
    use_profile("community")
    make_account(email="new@example.org", status=Account.Status.PENDING)
    make_account(email="member@example.org")
    assert "sent again to new@example.org" in account("resend-activation", "new@example.org")
    assert Client().get(last_link("new@example.org", "activation")).status_code == 302
    assert Account.objects.get(email="new@example.org").status == Account.Status.ACTIVE
    assert "not waiting for activation" in refused("resend-activation", "member@example.org")
    assert not Message.objects.filter(to="member@example.org").exists()


def test_end_sessions_signs_the_account_out_everywhere():
    make_account()
    first, second = signed_in("marie@example.org"), signed_in("marie@example.org")
    assert "every session" in account("end-sessions", "marie@example.org")
    assert first.get("/portal/").status_code == 302
    assert second.get("/portal/").status_code == 302
    assert Event.objects.get(kind="account.signed_out_everywhere").data["by"] == "operator"


# --- change-email -------------------------------------------------------------------------


def test_change_email_sends_the_link_to_the_new_address_only():
    make_account()
    text = account("change-email", "marie@example.org", "Marie.T@example.org")
    assert "marie.t@example.org" in text
    assert Message.objects.get().to == "marie.t@example.org"
    assert Account.objects.get().email == "marie@example.org"  # until the link is opened
    assert Event.objects.get(kind="email_change.requested").data["by"] == "operator"


@pytest.mark.parametrize(
    "new, message",
    [
        ("OTHER@example.org", "Another account already uses this e-mail address."),
        ("Marie@Example.org", "This is already the account's e-mail address."),
        ("marie@", "This e-mail address is invalid. Check it and try again."),
    ],
)
def test_change_email_bad_input_is_one_line_and_sends_nothing(new, message):
    make_account()
    make_account(email="other@example.org")
    assert refused("change-email", "marie@example.org", new) == message
    assert not Message.objects.exists()
    assert not Event.objects.filter(kind="email_change.requested").exists()
    assert Account.objects.filter(email="marie@example.org").exists()


# --- export, delete -----------------------------------------------------------------------


def test_export_prints_the_member_s_data_and_no_one_else_s():
    make_account()
    make_account(email="other@example.org", first_name="Paul")
    data = json.loads(account("export", "marie@example.org"))
    assert data["account"]["email"] == "marie@example.org"
    assert "other@example.org" not in json.dumps(data)
    assert Event.objects.get(kind="account.exported").data["by"] == "operator"


def test_delete_needs_yes_and_then_deletes(use_profile):
    make_account()
    assert "--yes" in refused("delete", "marie@example.org")
    assert Account.objects.exists()
    text = account("delete", "marie@example.org", "--yes", "--reason", "asked by phone")
    assert "deleted marie@example.org" in text
    assert not Account.objects.exists()
    event = Event.objects.get(kind="account.deleted")
    assert event.subject in text and event.data["by"] == "operator"


def test_the_last_administrator_of_an_establishment_is_not_deleted(use_profile):
    use_profile("extranet")
    member_of(hotel(), "marie@example.org", ALL)
    assert "last administrator" in refused("delete", "marie@example.org", "--yes")
    assert Account.objects.filter(email="marie@example.org").exists()
