"""A registry import that makes a member inactive (or, with --full, leaves their code out)
disables sign-in for the linked account, ends its sessions and says so in the report;
active again, the account is restored, unless staff disabled it themselves (issue 14)."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.lifecycle import account_disable
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.registry.models import Member

pytestmark = pytest.mark.django_db

HEADER = "kind,code,email,first_name,last_name,region,active\n"
MARIE = "member,123456,marie@example.org,Marie,Tremblay,,{active}\n"
LUC = "member,654321,luc@example.org,Luc,Ouellet,,yes\n"


def import_file(tmp_path: Path, text: str, *options: str) -> str:
    path = tmp_path / "members.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    out = StringIO()
    call_command("import_members", str(path), *options, stdout=out)
    return out.getvalue()


@pytest.fixture
def marie() -> Account:
    member = make_member(code="123456", email="marie@example.org")
    make_member(code="654321", email="luc@example.org", first_name="Luc", last_name="Ouellet")
    return make_account(member=member, code="123456", activated_at=timezone.now())


def sign_in(client: Client):
    return client.post("/login/", {"identifier": "123456", "password": PASSWORD})


def test_a_member_made_inactive_can_no_longer_sign_in_nor_go_on(tmp_path, marie):
    browser = Client()
    assert sign_in(browser).status_code == 302
    cookie = browser.cookies[django_settings.SESSION_COOKIE_NAME].value

    out = import_file(tmp_path, MARIE.format(active="no") + LUC)

    assert "disabled 1 account(s) of members now inactive" in out
    marie.refresh_from_db()
    assert marie.status == Account.Status.DISABLED
    assert marie.disabled_cause == Account.DisabledCause.REGISTRY
    event = Event.objects.get(kind="account.disabled")
    assert event.account == marie and event.data["by"] == "operator"
    assert event.data["cause"] == "registry"
    # The session opened before: its next page is the sign-in page.
    replayed = Client()
    replayed.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    page = replayed.get("/account/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    # And signing in again tells the member whom to ask.
    assert sign_in(Client()).context["outcome"].outcome == "disabled"


def test_active_again_the_account_is_restored(tmp_path, marie):
    import_file(tmp_path, MARIE.format(active="no") + LUC)
    out = import_file(tmp_path, MARIE.format(active="yes") + LUC)
    assert "enabled again 1 account(s) of members active again" in out
    marie.refresh_from_db()
    assert marie.status == Account.Status.ACTIVE and marie.disabled_cause == ""
    assert sign_in(Client()).status_code == 302


def test_an_account_staff_disabled_stays_disabled_whatever_the_registry_says(tmp_path, marie):
    account_disable(account=marie, reason="fraude", actor=None)
    import_file(tmp_path, MARIE.format(active="no") + LUC)
    out = import_file(tmp_path, MARIE.format(active="yes") + LUC)
    assert "enabled again" not in out
    marie.refresh_from_db()
    assert marie.status == Account.Status.DISABLED
    assert marie.disabled_cause == Account.DisabledCause.STAFF
    assert marie.disabled_reason == "fraude"


def test_an_unchanged_inactive_member_changes_nothing_on_a_second_import(tmp_path, marie):
    import_file(tmp_path, MARIE.format(active="no") + LUC)
    out = import_file(tmp_path, MARIE.format(active="no") + LUC)
    assert "disabled" not in out
    assert Event.objects.filter(kind="account.disabled").count() == 1


def test_full_import_makes_members_absent_from_the_file_inactive(tmp_path, marie):
    out = import_file(tmp_path, LUC, "--full")
    assert "absent made inactive 1" in out
    assert "disabled 1 account(s) of members now inactive" in out
    assert Member.objects.get(code="123456").active is False
    assert Member.objects.get(code="654321").active is True
    marie.refresh_from_db()
    assert marie.status == Account.Status.DISABLED
    imported = Event.objects.get(kind="registry.imported")
    assert imported.data["full"] is True and imported.data["absent"] == 1


def test_without_full_an_absent_member_stays_active(tmp_path, marie):
    import_file(tmp_path, LUC)
    assert Member.objects.get(code="123456").active is True
    marie.refresh_from_db()
    assert marie.status == Account.Status.ACTIVE


def test_full_import_keeps_a_member_whose_line_was_rejected(tmp_path, marie):
    out = import_file(tmp_path, "member,123456,not-an-email,Marie,Tremblay,,yes\n" + LUC, "--full")
    assert "rejected: e-mail" in out
    assert Member.objects.get(code="123456").active is True
    marie.refresh_from_db()
    assert marie.status == Account.Status.ACTIVE


def test_full_import_with_a_line_whose_code_cannot_be_read_makes_nobody_inactive(tmp_path, marie):
    out = import_file(tmp_path, LUC + "member,,x@example.org,X,Y,,yes\n", "--full")
    assert "no absent member was made inactive" in out
    assert Member.objects.get(code="123456").active is True
