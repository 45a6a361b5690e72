"""Issue 17: the error summary, the name menu and the show-password button, by keyboard."""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

EMAIL = "marie@example.org"
WORDS = {
    "fr": {
        "summary": "Il y a 1 erreur",
        "error": "Erreur : ",
        "show": "Afficher",
        "hide": "Masquer",
    },
    "en": {"summary": "There is 1 error", "error": "Error: ", "show": "Show", "hide": "Hide"},
}


def in_language(page: Page, language: str, portal_url: str) -> None:
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal_url}]
    )


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_error_summary_takes_the_focus_and_leads_to_the_field(
    page: Page, portal_url: str, language: str, db, console_errors
):
    in_language(page, language, portal_url)
    page.goto("/flow/recovery/start/")
    with page.expect_navigation():
        page.locator("form:has([name=identifier]) button[type=submit]").click()

    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text(WORDS[language]["summary"])
    expect(page).to_have_title(re.compile("^" + re.escape(WORDS[language]["error"])))
    field = page.locator("[name=identifier]")
    expect(field).to_have_attribute("aria-invalid", "true")
    link = summary.get_by_role("link")
    expect(link).to_have_attribute("href", "#" + field.get_attribute("id"))
    link.click()
    expect(field).to_be_focused()
    assert console_errors == []


@pytest.mark.parametrize("language", ["fr", "en"])
def test_escape_closes_the_name_menu_and_gives_the_focus_back(
    page: Page, portal_url: str, language: str, db
):
    make_account(email=EMAIL)
    in_language(page, language, portal_url)
    page.goto("/login/")
    page.locator("[name=identifier]").fill(EMAIL)
    page.locator("[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("[name=password]").press("Enter")
    menu = page.get_by_test_id("name-menu")
    menu.focus()
    page.keyboard.press("Enter")
    expect(page.locator("details.menu")).to_have_attribute("open", "")
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    expect(page.locator("details.menu")).not_to_have_attribute("open", "")
    expect(menu).to_be_focused()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_show_password_button_shows_then_hides_the_password(
    page: Page, portal_url: str, language: str, db
):
    in_language(page, language, portal_url)
    page.goto("/login/")
    password = page.locator("[name=password]")
    expect(page.get_by_role("button", name=WORDS[language]["show"], exact=True)).to_be_visible()
    toggle = page.locator(f"button[aria-controls='{password.get_attribute('id')}']")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    password.fill("un secret")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(password).to_have_attribute("type", "text")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle).to_have_text(WORDS[language]["hide"])
    page.keyboard.press("Space")
    expect(password).to_have_attribute("type", "password")
    expect(toggle).to_have_text(WORDS[language]["show"])
    expect(password).to_have_value("un secret")


AUTOCOMPLETE = {"username", "email", "new-password", "current-password", "one-time-code"}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_field_of_the_public_forms_tells_the_browser_what_it_holds(
    page: Page, portal_url: str, language: str, db
):
    in_language(page, language, portal_url)
    expected = {
        "/login/": {"identifier": "username", "password": "current-password"},
        "/flow/registration/start/": {
            "email": "email",
            "code": "username",
            "password": "new-password",
            "password_confirm": "new-password",
        },
        "/flow/recovery/start/": {"identifier": "username"},
        "/flow/activation/resend/": {"identifier": "username"},
        "/login/forgotten-identifier/": {"email": "email"},
    }
    for path, fields in expected.items():
        page.goto(path)
        inputs = page.locator("main input:not([type=hidden]):not([type=checkbox])")
        found = {
            name: value
            for name, value in inputs.evaluate_all(
                "nodes => nodes.map((node) => [node.name, node.autocomplete])"
            )
        }
        assert found == fields, path
        assert set(found.values()) <= AUTOCOMPLETE
