"""Issue 16: a member adds an authenticator app on « Sécurité de la connexion », signs out,
and signs in with the password and a code (in French, then once in English)."""

import re
import time

import pyotp
import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from tests.browser.journey import field_error, submit
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

EMAIL = "direction@hotel.example"
CODE_FR = "Code de votre application d'authentification, ou code de récupération"
CODE_EN = "Code from your authenticator app, or a recovery code"


def sign_in(page: Page, identifier_label: str, password_label: str, button: str) -> None:
    page.get_by_label(identifier_label, exact=True).fill(EMAIL)
    page.get_by_label(password_label, exact=True).fill(PASSWORD)
    submit(page, button)


def fresh_code(totp: pyotp.TOTP, spent: str) -> str:
    """The app's code now; a code already given is never accepted again: wait for the next."""
    while totp.now() == spent:
        time.sleep(1)
    return totp.now()


def test_a_member_enrols_an_app_and_signs_in_with_it(page: Page, use_profile, portal_url: str):
    use_profile("extranet")
    make_account(email=EMAIL, kind="user")
    page.goto("/login/")
    sign_in(page, "Nom d'utilisateur", "Mot de passe", "Se connecter")
    expect(page.get_by_test_id("name-menu")).to_be_visible()

    page.goto("/account/security/")
    expect(page.get_by_role("heading", name="Sécurité de la connexion")).to_be_visible()
    page.get_by_test_id("add-totp").click()
    secret = page.get_by_test_id("secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    enrolled = totp.now()
    page.get_by_label("Code affiché par l'application", exact=True).fill(enrolled)
    submit(page, "Ajouter l'application")
    expect(page.get_by_test_id("factor")).to_have_count(1)

    page.get_by_test_id("name-menu").click()
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Déconnexion", exact=True).click()
    page.goto("/login/")
    sign_in(page, "Nom d'utilisateur", "Mot de passe", "Se connecter")
    expect(page).to_have_url(f"{portal_url}/flow/sign_in/")
    expect(page.get_by_role("heading", name="Deuxième étape de la connexion")).to_be_visible()
    expect(page.get_by_test_id("name-menu")).to_have_count(0)
    page.get_by_label(CODE_FR, exact=True).fill("000000")
    submit(page, "Continuer")
    expect(field_error(page, CODE_FR)).to_have_text(
        "Ce code n'est pas valide. Tapez le code que votre application affiche maintenant."
    )
    signed_with = fresh_code(totp, enrolled)
    page.get_by_label(CODE_FR, exact=True).fill(signed_with)
    submit(page, "Continuer")
    expect(page).to_have_url(f"{portal_url}/portal/")
    expect(page.get_by_test_id("name-menu")).to_have_text("Marie Tremblay")

    # Once in English.
    page.get_by_test_id("name-menu").click()
    with page.expect_navigation():
        page.locator("header").get_by_role("button", name="Déconnexion", exact=True).click()
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": portal_url}]
    )
    page.goto("/login/")
    sign_in(page, "Username", "Password", "Sign in")
    expect(page.get_by_role("heading", name="Second step of sign-in")).to_be_visible()
    submit(page, "Continue")
    expect(field_error(page, CODE_EN)).to_have_text(
        "Enter the code your app shows, or a recovery code."
    )
    page.get_by_label(CODE_EN, exact=True).fill(fresh_code(totp, signed_with))
    submit(page, "Continue")
    expect(page).to_have_url(re.compile(r"/portal/$"))
