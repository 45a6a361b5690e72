"""Issue 2: the page shell in a real browser: cookie notice, language switch, a clean console."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

I_AGREE = re.compile(r"^J['’]accepte$")


def test_the_cookie_notice_goes_once_accepted_and_stays_gone_after_a_reload(page: Page):
    page.goto("/")
    notice = page.get_by_test_id("cookie-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Utilisation de témoins")
    notice.get_by_role("button", name=I_AGREE).click()
    expect(notice).to_have_count(0)
    page.reload()
    expect(page.locator("main h1")).to_be_visible()
    expect(page.get_by_test_id("cookie-notice")).to_have_count(0)


def test_the_language_switch_turns_the_page_english_then_french_again(page: Page):
    page.goto("/")
    html, header = page.locator("html"), page.locator("header")
    expect(html).to_have_attribute("lang", "fr")
    expect(header.get_by_role("link", name="Connexion", exact=True)).to_be_visible()

    page.get_by_test_id("language-en").click()
    expect(html).to_have_attribute("lang", "en")
    expect(header.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    expect(header.get_by_role("link", name="Connexion", exact=True)).to_have_count(0)
    expect(page.get_by_test_id("cookie-notice")).to_contain_text("Use of cookies")

    page.get_by_test_id("language-fr").click()
    expect(html).to_have_attribute("lang", "fr")
    expect(header.get_by_role("link", name="Connexion", exact=True)).to_be_visible()
    expect(header.get_by_role("link", name="Sign in", exact=True)).to_have_count(0)


def test_the_shell_pages_log_no_console_error_nor_csp_violation(
    page: Page, console_errors: list[str]
):
    for path in ["/", "/login/", "/help/", "/privacy/"]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
    page.get_by_test_id("cookie-notice").get_by_role("button", name=I_AGREE).click()
    page.get_by_test_id("language-en").click()
    page.get_by_test_id("language-fr").click()
    page.wait_for_load_state("networkidle")
    assert console_errors == []


def test_the_policy_refuses_an_inline_script_and_the_console_reports_it(
    page: Page, console_errors: list[str]
):
    # Proves the listener above would see a violation: the page's CSP blocks inline scripts.
    page.goto("/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "document.body.dataset.injected = 'yes'";
            document.body.append(script);
        }"""
    )
    expect(page.locator("body")).not_to_have_attribute("data-injected", "yes")
    page.wait_for_timeout(200)
    assert any("Content Security Policy" in error for error in console_errors), console_errors
