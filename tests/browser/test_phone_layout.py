"""Issue 17: on a 375 px phone nothing scrolls sideways, the users table reads as a list and the
cookie notice leaves the page to the member (a fifth of the screen at most)."""

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Page, expect

from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import PASSWORD
from vestibule.establishments.invitations import invitation_send

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 667}
ADMIN_EMAIL = "admin@hotel.example"


def phone_page(browser: Browser, portal_url: str, language: str = "fr") -> Page:
    context = browser.new_context(base_url=portal_url, viewport=PHONE)
    context.set_default_timeout(10_000)
    context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal_url}]
    )
    return context.new_page()


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the phone's screen (0: no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def establishment(use_profile, db):
    use_profile("extranet")
    place = hotel()
    admin = member_of(place, ADMIN_EMAIL, ALL, first_name="Louise", last_name="Morin")
    member_of(
        place,
        "marie-christine.tremblay-lavoie@hotel-du-port-et-des-iles.example",
        ALL,
        first_name="Marie-Christine",
        last_name="Tremblay-Lavoie",
    )
    invitation_send(
        establishment=place,
        email="jean-sebastien.desrochers@hotel-du-port.example",
        rights=ALL,
        inviter=admin.account,
    )
    return place


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_users_table_becomes_a_list_on_a_phone(
    browser: Browser, portal_url: str, establishment, language: str
):
    page = phone_page(browser, portal_url, language)
    try:
        page.goto("/login/")
        page.locator("[name=identifier]").fill(ADMIN_EMAIL)
        page.locator("[name=password]").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").first.click()
        page.goto("/establishments/users/")
        users = page.get_by_test_id("users")
        expect(users).to_contain_text("Tremblay-Lavoie")
        assert overflow(page) <= 0
        # The column headings are out of sight; each cell says which column it belongs to.
        assert (
            not users.locator("thead").is_visible()
            or users.locator("thead").bounding_box()["x"] < 0
        )
        label = "Droits d'accès" if language == "fr" else "Access rights"
        cell = users.locator(f'td[data-label="{label}"]').first
        before = cell.evaluate("cell => getComputedStyle(cell, '::before').content")
        assert label in before
        # One row is one card: its cells stack, each as wide as the row.
        first, second = users.locator("tbody tr").first.locator("td").all()[:2]
        assert second.bounding_box()["y"] > first.bounding_box()["y"]
        expect(page.get_by_test_id("invitations")).to_contain_text("desrochers")
    finally:
        page.context.close()


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("path", ["/", "/login/", "/flow/registration/start/", "/help/"])
def test_the_cookie_notice_takes_a_fifth_of_a_phone_screen_at_most(
    browser: Browser, portal_url: str, db, path: str, language: str
):
    page = phone_page(browser, portal_url, language)
    try:
        page.goto(path)
        notice = page.get_by_test_id("cookie-notice")
        expect(notice).to_be_visible()
        height = notice.bounding_box()["height"]
        assert height <= PHONE["height"] / 5, f"{height}px on {path}"
        assert overflow(page) <= 0
    finally:
        page.context.close()
