"""Seed 001 (hotel extranet): a locked account reset by e-mail, as the help page tells it."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import resume_link, screenshot, submit
from tests.conftest import Inbox
from tests.factories import PASSWORD, make_account

pytestmark = pytest.mark.browser

EMAIL = "direction@hotel.example"
NEW_PASSWORD = "vue-sur-le-port-2026"


@pytest.fixture
def hotel_account(use_profile):
    use_profile("extranet")
    return make_account(email=EMAIL, kind="user")


def sign_in(page: Page, password: str) -> None:
    page.get_by_label("Nom d'utilisateur", exact=True).fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    submit(page, "Se connecter")


def test_a_user_locked_by_five_failures_creates_a_new_password_and_signs_in_again(
    new_page: Callable[[], Page], inbox: Inbox, hotel_account, portal_url: str, console_errors
):
    page = new_page()
    # Five failed sign-ins lock the account: even the right password is refused then.
    page.goto("/login/")
    for attempt in range(5):
        sign_in(page, f"not the password {attempt}")
        expect(page.get_by_test_id("sign-in-error")).to_be_visible()
    page.goto("/login/")
    sign_in(page, PASSWORD)
    expect(page.get_by_test_id("sign-in-error")).to_contain_text("Trop de tentatives")
    [locked_notice] = inbox.wait_for(EMAIL)
    assert locked_notice["Subject"].strip().startswith("Votre compte a été bloqué · ")
    inbox.clear()

    # Steps 1-3: the sign-in page, « Mot de passe oublié ? », the username, « Confirmer ».
    page.goto("/login/")
    page.get_by_role("link", name="Mot de passe oublié ?", exact=True).click()
    expect(page.get_by_role("heading", name="Mot de passe oublié ?")).to_be_visible()
    expect(page.locator("main")).to_contain_text(
        "Saisissez votre nom d'utilisateur, puis cliquez sur Confirmer."
    )
    page.get_by_label("Nom d'utilisateur", exact=True).fill(EMAIL)
    submit(page, "Confirmer")

    # The locked account confirms its masked address: « Oui, créer mon mot de passe ».
    expect(page.locator("main")).to_contain_text(
        "Veuillez confirmer l'adresse courriel à laquelle nous enverrons le lien"
    )
    expect(page.get_by_test_id("masked-email")).to_have_text("d*****n@hotel.example")
    assert EMAIL not in page.content()
    screenshot(page, "recovery-masked-email-button-fr")
    submit(page, "Oui, créer mon mot de passe")
    expect(page.get_by_role("heading", name="Vérifiez votre boîte de réception")).to_be_visible()

    # Step 4: the link of the e-mail, in another browser, then the new password.
    [mail] = inbox.wait_for(EMAIL)
    assert mail["Subject"].strip().startswith("Réinitialisation du mot de passe · ")
    elsewhere = new_page()
    elsewhere.goto(resume_link(Inbox.text(mail)))
    expect(elsewhere).to_have_url(f"{portal_url}/flow/recovery/")
    elsewhere.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    elsewhere.get_by_label("Confirmation du nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    submit(elsewhere, "Soumettre")
    expect(elsewhere.get_by_test_id("recovery-done")).to_contain_text(
        "Merci, votre mot de passe a été réinitialisé avec succès!"
    )

    # The lock is gone: the new password opens the portal.
    elsewhere.get_by_role("link", name="Me connecter avec mon nouveau mot de passe").click()
    expect(elsewhere).to_have_url(re.compile(r"/login/$"))
    sign_in(elsewhere, NEW_PASSWORD)
    expect(elsewhere).to_have_url(f"{portal_url}/portal/")
    expect(elsewhere.get_by_test_id("name-menu")).to_have_text("Marie Tremblay")
    hotel_account.refresh_from_db()
    assert hotel_account.locked_at is None
    assert console_errors == []
