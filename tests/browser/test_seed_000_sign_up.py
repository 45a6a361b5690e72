"""Issue 3: seed 000 (dentists) walked end to end in Chromium, as the help page tells it."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import field_error, resume_link, screenshot, submit
from tests.conftest import Inbox
from tests.factories import make_member

pytestmark = pytest.mark.browser

EMAIL = "dr.lavoie@example.org"
LICENCE = "12345"
PASSWORD = "molaire42"


@pytest.fixture
def dentist(use_profile):
    use_profile("dentists")
    return make_member(
        kind="dentist", code=LICENCE, email=EMAIL, first_name="Sophie", last_name="Lavoie"
    )


def test_a_dentist_signs_up_activates_signs_out_and_signs_in_again_in_french(
    new_page: Callable[[], Page], inbox: Inbox, dentist, portal_url: str, console_errors
):
    page = new_page()
    # Steps 1-2: « Connexion » in the header, then « Créer un compte ».
    page.goto("/")
    page.locator("header").get_by_role("link", name="Connexion", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_role("link", name="Créer un compte").click()
    expect(page.get_by_role("heading", name="Créer un compte")).to_be_visible()

    # Step 3: unticked, the script hides the fields and explains how delegates get an account.
    is_dentist = page.get_by_label("Je suis un dentiste")
    expect(is_dentist).not_to_be_checked()
    expect(page.get_by_label("Courriel", exact=True)).to_be_hidden()
    expect(page.get_by_role("button", name="Créer mon compte")).to_be_hidden()
    delegate_help = page.get_by_text("Le compte d'un délégué est créé à partir de l'invitation")
    expect(delegate_help).to_be_visible()
    is_dentist.check()
    expect(delegate_help).to_be_hidden()
    expect(page.get_by_label("Courriel", exact=True)).to_be_visible()

    # Steps 4-8 with mistakes: each message appears right under its own field.
    page.get_by_label("Courriel", exact=True).fill("dr.lavoie@")
    page.get_by_label("Numéro de permis", exact=True).fill(LICENCE)
    page.get_by_label("Mot de passe", exact=True).fill("ab1")
    page.get_by_label("Confirmez votre mot de passe", exact=True).fill("ab2")
    submit(page, "Créer mon compte")
    expect(page.get_by_label("Je suis un dentiste")).to_be_checked()
    expect(field_error(page, "Courriel")).to_contain_text("Cette adresse courriel est invalide")
    expect(field_error(page, "Mot de passe")).to_contain_text("minimum de 6 caractères")
    expect(field_error(page, "Confirmez votre mot de passe")).to_have_text(
        "Les mots de passe doivent être identiques."
    )
    expect(page.locator("#id_code_errors")).to_have_count(0)
    screenshot(page, "sign-up-errors-fr")

    page.get_by_label("Courriel", exact=True).fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmez votre mot de passe", exact=True).fill(PASSWORD)
    submit(page, "Créer mon compte")

    # Step 9: the request is received, the activation e-mail is on its way.
    received = page.get_by_test_id("sign-up-received")
    expect(received).to_contain_text("a bien été reçue")
    expect(received).to_contain_text(EMAIL)
    expect(received).to_contain_text("courrier indésirable")

    # Step 10: « Activer » in the e-mail, opened in another browser.
    [mail] = inbox.wait_for(EMAIL)
    assert mail["Subject"].strip().startswith("Veuillez activer votre compte · ")
    link = resume_link(Inbox.text(mail))
    assert link.startswith(portal_url)
    elsewhere = new_page()
    elsewhere.goto(link)
    expect(elsewhere).to_have_url(f"{portal_url}/portal/")
    name_menu = elsewhere.get_by_test_id("name-menu")
    expect(name_menu).to_have_text("Sophie Lavoie")
    expect(elsewhere.locator("main")).to_contain_text(
        "Vous avez maintenant accès au portail des membres."
    )
    expect(elsewhere.get_by_test_id("member-identifier")).to_have_text(LICENCE)
    screenshot(elsewhere, "portal-home-fr")

    # Signing out: the name, then « Déconnexion » at the bottom of its menu.
    name_menu.click()
    sign_out = elsewhere.locator("header").get_by_role("button", name="Déconnexion")
    expect(sign_out).to_be_visible()
    screenshot(elsewhere, "portal-name-menu-fr")
    sign_out.click()
    expect(elsewhere.get_by_test_id("name-menu")).to_have_count(0)
    header_sign_in = elsewhere.locator("header").get_by_role("link", name="Connexion", exact=True)
    expect(header_sign_in).to_be_visible()
    assert "Sophie Lavoie" not in elsewhere.content()

    # Signing in again: the licence number is the dentist's « Identifiant ».
    header_sign_in.click()
    elsewhere.get_by_label("Identifiant", exact=True).fill(LICENCE)
    elsewhere.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    submit(elsewhere, "Se connecter")
    expect(elsewhere).to_have_url(f"{portal_url}/portal/")
    expect(elsewhere.get_by_test_id("name-menu")).to_have_text("Sophie Lavoie")
    assert console_errors == []


def test_a_dentist_signs_up_in_english_and_gets_english_mail_and_portal(
    new_page: Callable[[], Page], inbox: Inbox, dentist, portal_url: str
):
    page = new_page()
    page.goto("/")
    page.get_by_test_id("language-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator("header").get_by_role("link", name="Sign in", exact=True).click()
    page.get_by_role("link", name="Create an account").click()

    page.get_by_label("I am a dentist").check()
    page.get_by_label("E-mail", exact=True).fill(EMAIL)
    page.get_by_label("Licence number", exact=True).fill(LICENCE)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm your password", exact=True).fill(PASSWORD)
    submit(page, "Create my account")
    expect(page.get_by_test_id("sign-up-received")).to_contain_text("has been received")

    # The account keeps the language of the page it was created from.
    [mail] = inbox.wait_for(EMAIL)
    assert mail["Subject"].strip().startswith("Please activate your account · ")
    elsewhere = new_page()
    elsewhere.goto(resume_link(Inbox.text(mail)))
    expect(elsewhere).to_have_url(f"{portal_url}/portal/")
    expect(elsewhere.locator("html")).to_have_attribute("lang", "en")
    expect(elsewhere.get_by_test_id("name-menu")).to_have_text("Sophie Lavoie")
    expect(elsewhere.locator("main")).to_contain_text("You now have access to the members' portal.")


def test_a_corrected_sign_up_sent_right_after_field_errors_is_accepted(page: Page, dentist):
    # Regression: the double-click lock once outlived a refused answer and dropped the fix.
    page.goto("/flow/registration/start/")
    page.get_by_label("Je suis un dentiste").check()
    page.get_by_label("Courriel", exact=True).fill("dr.lavoie@")
    page.get_by_label("Numéro de permis", exact=True).fill(LICENCE)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmez votre mot de passe", exact=True).fill(PASSWORD)
    submit(page, "Créer mon compte")
    expect(field_error(page, "Courriel")).to_contain_text("Cette adresse courriel est invalide")

    page.get_by_label("Courriel", exact=True).fill(EMAIL)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmez votre mot de passe", exact=True).fill(PASSWORD)
    submit(page, "Créer mon compte")
    assert page.get_by_test_id("sign-up-received").count() == 1
