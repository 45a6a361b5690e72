"""Seed 002 (physicians): « Mot de passe perdu » walked in Chromium, as the procedure tells it."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import field_error, resume_link, screenshot, submit
from tests.conftest import Inbox
from tests.factories import make_account
from vestibule.accounts.security_questions import security_answers_set

pytestmark = pytest.mark.browser

EMAIL = "50143904@50143904.com"
CODE = "54321"
CAPTCHA = "12345"
NEW_PASSWORD = "Hippocrate-sur-le-fleuve"
CAPTCHA_LABEL = "Recopiez les cinq chiffres de l'image"
MASKED_EMAIL_QUESTION = "Le courriel ci-dessous est-il valide et fonctionnel ?"
ANSWERS = {"first_school": "École Saint-Joseph", "first_pet": "Filou", "birth_city": "Québec"}
# What the physician types: other case, no accents, doubled spaces; keyed by the question shown.
TYPED = {
    "Quel est le nom de votre première école ?": "ECOLE  saint-joseph",
    "Quel était le nom de votre premier animal de compagnie ?": "filou",
    "Dans quelle ville votre mère est-elle née ?": "QUEBEC",
}


@pytest.fixture
def physician(use_profile, settings):
    use_profile("physicians")
    settings.VESTIBULE_CAPTCHA_FIXED_ANSWER = CAPTCHA
    account = make_account(
        email=EMAIL, code=CODE, kind="physician", first_name="Jean", last_name="Gagnon"
    )
    security_answers_set(account=account, answers=ANSWERS)
    return account


def identify_by_user_code(page: Page) -> None:
    """Sign-in page → « Mot de passe oublié ? » → the user code, typed with a space."""
    page.goto("/login/")
    page.get_by_role("link", name="Mot de passe oublié ?", exact=True).click()
    expect(page.get_by_role("heading", name="Problème de connexion")).to_be_visible()
    codes = page.locator("table.codes")
    for example in ["54321", "R12345", "E12342012", "50012345"]:
        expect(codes).to_contain_text(f"Ex. : {example}")
    expect(page.get_by_text("OU", exact=True)).to_be_visible()
    page.get_by_label("Code d'utilisateur", exact=True).fill("543 21")
    submit(page, "Soumettre")


def captcha_image_src(page: Page) -> str:
    """The captcha image's address, once the browser has decoded it into real pixels."""
    image = page.get_by_test_id("captcha-image")
    image.evaluate("img => img.decode()")  # rejects when the image cannot be loaded
    assert image.evaluate("img => img.naturalWidth") > 0
    return image.get_attribute("src") or ""


def answer_security_questions(page: Page) -> None:
    """Answer the two questions the page asks, read from their labels."""
    expect(page.get_by_role("heading", name="Répondez à vos questions de sécurité")).to_be_visible()
    asked = page.locator("main form label").all_inner_texts()
    assert len(asked) == 2 and set(asked) <= set(TYPED), asked
    for question in asked:
        page.get_by_label(question, exact=True).fill(TYPED[question])
    submit(page, "Soumettre")


def walk_to_the_masked_email(page: Page) -> None:
    identify_by_user_code(page)
    captcha_image_src(page)
    page.get_by_label(CAPTCHA_LABEL, exact=True).fill(CAPTCHA)
    submit(page, "Soumettre")
    answer_security_questions(page)
    expect(page.get_by_test_id("masked-email")).to_have_text("5*****4@50143904.com")


def test_a_physician_resets_the_password_with_the_user_code_in_french(
    new_page: Callable[[], Page], inbox: Inbox, physician, portal_url: str, console_errors
):
    page = new_page()
    # Steps 1-2: « Mot de passe oublié ? », the code table, then « 543 21 » as typed.
    identify_by_user_code(page)

    # The captcha: a real image; a wrong answer is refused and a new image is drawn.
    expect(page.get_by_role("heading", name="Problème de connexion")).to_be_visible()
    expect(page.get_by_text("Recopiez les cinq chiffres de l'image à l'écran")).to_be_visible()
    first_image = captcha_image_src(page)
    screenshot(page, "recovery-captcha-fr")
    page.get_by_label(CAPTCHA_LABEL, exact=True).fill("99999")
    submit(page, "Soumettre")
    expect(field_error(page, CAPTCHA_LABEL)).to_contain_text(
        "Ce ne sont pas les chiffres de l'image. Essayez avec cette nouvelle image."
    )
    assert captcha_image_src(page) != first_image
    page.get_by_label(CAPTCHA_LABEL, exact=True).fill(CAPTCHA)
    submit(page, "Soumettre")

    # Step 3: two of the questions defined at sign-up; case and accents do not matter.
    answer_security_questions(page)

    # Step 4: the masked address, « Oui », « Soumettre ».
    question = page.get_by_role("group", name=MASKED_EMAIL_QUESTION)
    expect(question).to_be_visible()
    expect(question).to_contain_text(
        "(certains caractères ont été masqués pour des raisons de sécurité)"
    )
    expect(page.get_by_test_id("masked-email")).to_have_text("5*****4@50143904.com")
    assert EMAIL not in page.content()
    screenshot(page, "recovery-masked-email-fr")
    page.get_by_label("Oui", exact=True).check()
    submit(page, "Soumettre")
    expect(page.get_by_role("heading", name="Vérifiez votre boîte de réception")).to_be_visible()
    expect(page.get_by_test_id("link-sent")).to_contain_text("courrier indésirable")

    # Step 5: the e-mail's link, opened in another browser; its key leaves the address bar.
    [mail] = inbox.wait_for(EMAIL)
    assert mail["Subject"].strip().startswith("Réinitialisation du mot de passe · ")
    link = resume_link(Inbox.text(mail))
    assert link.startswith(portal_url)
    key = link.rstrip("/").rsplit("/", 1)[-1]
    elsewhere = new_page()
    elsewhere.goto(link)
    expect(elsewhere).to_have_url(f"{portal_url}/flow/recovery/")
    assert key not in elsewhere.url

    # Step 7: two questions again, in that other browser.
    answer_security_questions(elsewhere)

    # Step 8: the new password; a confirmation that differs is shown under its own field.
    new_password = elsewhere.get_by_label("Nouveau mot de passe", exact=True)
    confirmation = elsewhere.get_by_label("Confirmation du nouveau mot de passe", exact=True)
    new_password.fill(NEW_PASSWORD)
    confirmation.fill(NEW_PASSWORD + "!")
    submit(elsewhere, "Soumettre")
    expect(field_error(elsewhere, "Confirmation du nouveau mot de passe")).to_have_text(
        "Les mots de passe doivent être identiques."
    )
    new_password.fill(NEW_PASSWORD)
    confirmation.fill(NEW_PASSWORD)
    submit(elsewhere, "Soumettre")

    # Step 9: the closing page never shows the password; its link says where it goes.
    expect(elsewhere.get_by_test_id("recovery-done")).to_have_text(
        "Merci, votre mot de passe a été réinitialisé avec succès!"
    )
    assert NEW_PASSWORD not in elsewhere.content()
    elsewhere.get_by_role("link", name="Me connecter avec mon nouveau mot de passe").click()
    expect(elsewhere).to_have_url(re.compile(r"/login/$"))
    elsewhere.get_by_label("Identifiant", exact=True).fill(CODE)
    elsewhere.get_by_label("Mot de passe", exact=True).fill(NEW_PASSWORD)
    submit(elsewhere, "Se connecter")
    expect(elsewhere).to_have_url(f"{portal_url}/portal/")
    expect(elsewhere.get_by_test_id("name-menu")).to_have_text("Jean Gagnon")
    expect(elsewhere.get_by_test_id("member-identifier")).to_have_text(CODE)
    assert console_errors == []


def test_no_at_the_masked_address_gives_the_support_contact_and_sends_nothing(
    page: Page, inbox: Inbox, physician
):
    walk_to_the_masked_email(page)
    page.get_by_label("Non", exact=True).check()
    submit(page, "Soumettre")
    expect(page.get_by_role("heading", name="Nous joindre")).to_be_visible()
    support = page.get_by_test_id("support-contact")
    expect(support).to_contain_text("514 933-4325")
    expect(support).to_contain_text("soutien@medecins.example")
    assert inbox.to(EMAIL) == []
