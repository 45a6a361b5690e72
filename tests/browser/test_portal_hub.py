"""The portal home is the member's hub, on a 375 px phone, in French and in English."""

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.journey import submit
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

WORDS = {
    "fr": {
        "identifier": "Identifiant",
        "password": "Mot de passe",
        "sign_in": "Se connecter",
        "links": ["Compte", "Modifier le mot de passe", "Sécurité de la connexion"],
        "sign_out": "Déconnexion",
        "next_step": "Aucune section réservée aux membres n’est encore ouverte à votre compte.",
        "help": "la page d’aide",
        "help_heading": "Aide",
    },
    "en": {
        "identifier": "Identifier",
        "password": "Password",
        "sign_in": "Sign in",
        "links": ["Account", "Change the password", "Sign-in security"],
        "sign_out": "Sign out",
        "next_step": "No members' section is open to your account yet.",
        "help": "the help page",
        "help_heading": "Help",
    },
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_member_with_nothing_to_do_finds_the_account_links_and_what_to_do_next(
    page: Page, portal_url: str, language: str, console_errors: list[str]
):
    words = WORDS[language]
    make_account(email="marie@example.org", code="123456", language=language)
    page.set_viewport_size({"width": 375, "height": 667})
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": portal_url}]
    )
    page.goto("/login/")
    page.get_by_label(words["identifier"], exact=True).fill("123456")
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    submit(page, words["sign_in"])

    hub = page.get_by_test_id("hub-links")
    for name in words["links"]:
        expect(hub.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(hub.get_by_role("button", name=words["sign_out"])).to_be_visible()
    expect(page.get_by_test_id("next-step")).to_contain_text(words["next_step"])
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    page.get_by_test_id("next-step").get_by_role("link", name=words["help"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words["help_heading"])
    page.go_back()
    hub.get_by_role("link", name=words["links"][1], exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.go_back()
    page.get_by_test_id("hub-links").get_by_role("button", name=words["sign_out"]).click()
    expect(page.get_by_test_id("name-menu")).to_have_count(0)
    assert console_errors == []
