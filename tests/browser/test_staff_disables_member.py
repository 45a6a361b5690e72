"""Issue 14: a staff member disables, from the admin console, a member signed in elsewhere;
that browser's next page is the sign-in page, and the right password then shows the
disabled page naming the support contact."""

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from tests.browser.journey import screenshot, submit
from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event

pytestmark = pytest.mark.browser

MEMBER = "marie@example.org"
CLERK = "commis@example.org"
REASON = "Fraude signalée par le registre"


@pytest.fixture
def marie() -> Account:
    return make_account(email=MEMBER, code="123456")


@pytest.fixture
def clerk() -> Account:
    """Staff who may see accounts and disable them, and nothing else."""
    account = make_account(email=CLERK, first_name="Jo", last_name="Commis", is_staff=True)
    account.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=["view_account", "disable_account"]
        )
    )
    return account


def sign_in(page: Page, identifier: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Identifiant", exact=True).fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    submit(page, "Se connecter")


def test_staff_disable_a_member_signed_in_elsewhere(
    new_page: Callable[[], Page],
    marie: Account,
    clerk: Account,
    portal_url: str,
    console_errors: list[str],
):
    member = new_page()
    sign_in(member, MEMBER)
    expect(member).to_have_url(f"{portal_url}/portal/")
    expect(member.get_by_test_id("name-menu")).to_have_text("Marie Tremblay")

    # The clerk signs in on the members' page, then finds the account in the console.
    staff = new_page()
    sign_in(staff, CLERK)
    staff.goto("/admin/accounts/account/")
    staff.locator("#searchbar").fill("Tremblay")
    with staff.expect_navigation():
        staff.locator("#searchbar").press("Enter")
    row = staff.locator("#result_list tbody tr").filter(has_text=MEMBER)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="Page de soutien").click()
    expect(staff).to_have_url(f"{portal_url}/admin/accounts/account/{marie.pk}/support/")
    expect(staff.get_by_test_id("status")).to_have_text("actif")
    # Only the action this clerk holds is offered.
    actions = staff.get_by_test_id("actions")
    expect(actions.locator("form")).to_have_count(1)
    expect(staff.get_by_test_id("delete")).to_have_count(0)

    disable = staff.get_by_test_id("disable")
    disable.get_by_label("Motif").fill(REASON)
    with staff.expect_navigation():
        disable.get_by_role("button", name="Désactiver", exact=True).click()
    expect(staff.locator(".messagelist")).to_contain_text(
        "Le compte a été désactivé ; ses sessions ont pris fin."
    )
    expect(staff.get_by_test_id("status")).to_have_text("désactivé")
    expect(staff.get_by_test_id("disabled-reason")).to_have_text(REASON)
    screenshot(staff, "staff-disables-member-fr")
    event = Event.objects.get(kind="account.disabled", account=marie)
    assert event.data["by"] == CLERK and event.data["reason"] == REASON

    # The member's very next page, in the other browser, is the sign-in page.
    member.goto("/portal/")
    expect(member).to_have_url(re.compile(rf"^{re.escape(portal_url)}/login/"))
    expect(member.get_by_test_id("name-menu")).to_have_count(0)

    # The right password: the account is disabled, and whom to ask.
    sign_in(member, MEMBER)
    expect(member).to_have_url(f"{portal_url}/login/")
    main = member.locator("main")
    expect(main).to_contain_text("Ce compte est désactivé.")
    expect(main).to_contain_text("communiquez avec l'équipe de soutien")
    expect(main).to_contain_text("support@vestibule.example")
    expect(member.get_by_test_id("name-menu")).to_have_count(0)
    screenshot(member, "member-disabled-fr")

    # A wrong password says nothing of it: the page of an unknown identifier.
    sign_in(member, MEMBER, "not the password")
    expect(main).not_to_contain_text("désactivé")
    assert console_errors == []
