"""Issue 4: sign-in lockout and sign-out as a browser lives them (seed 001, hotel extranet)."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import submit
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

EMAIL = "direction@hotel.example"


@pytest.fixture
def hotel_account(use_profile):
    use_profile("extranet")
    return make_account(email=EMAIL, kind="user")


def sign_in(page: Page, password: str) -> None:
    page.get_by_label("Nom d'utilisateur", exact=True).fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    submit(page, "Se connecter")


def test_the_right_password_after_five_wrong_ones_shows_the_lock_and_the_way_out(
    page: Page, hotel_account, portal_url: str
):
    page.goto("/login/")
    for attempt in range(5):
        sign_in(page, f"not the password {attempt}")
        expect(page.get_by_test_id("sign-in-error")).to_be_visible()
    # The fifth failure says the lock at once, and the way out replaces the form.
    expect(page.get_by_test_id("sign-in-error")).to_contain_text("maintenant verrouillé")
    expect(page.get_by_label("Mot de passe", exact=True)).to_have_count(0)
    page.goto("/login/")
    sign_in(page, PASSWORD)

    expect(page).to_have_url(f"{portal_url}/login/")
    error = page.get_by_test_id("sign-in-error")
    expect(error).to_contain_text("Trop de tentatives")
    way_out = page.get_by_test_id("locked-reset")
    expect(way_out).to_be_visible()
    expect(page.get_by_test_id("name-menu")).to_have_count(0)
    way_out.click()
    expect(page).to_have_url(re.compile(r"/flow/recovery/"))


def test_the_back_button_after_signing_out_shows_no_private_page(
    page: Page, hotel_account, portal_url: str
):
    page.goto("/")
    page.locator("header").get_by_role("link", name="Connexion", exact=True).click()
    with page.expect_response(f"{portal_url}/portal/") as portal:
        sign_in(page, PASSWORD)
    assert portal.value.headers["cache-control"] == "no-store"
    expect(page.get_by_test_id("name-menu")).to_have_text("Marie Tremblay")

    page.get_by_test_id("name-menu").click()
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Déconnexion", exact=True).click()
    expect(page.get_by_test_id("name-menu")).to_have_count(0)

    page.go_back()
    page.wait_for_load_state()
    # Kept in no cache (no-store), the portal page is asked for again, and the server sends the
    # signed-out visitor to the sign-in page instead.
    assert "Marie Tremblay" not in page.content()
    expect(page.get_by_test_id("name-menu")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/login/"))
