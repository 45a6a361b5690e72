"""Issue 14: a member's own pages under « Compte », in French then in English: the sign-in
e-mail address, the active sessions and « Mes données personnelles » (profile default)."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import screenshot, submit
from tests.conftest import Inbox
from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event

pytestmark = pytest.mark.browser

EMAIL = "marie@example.org"
NEW_EMAIL = "marie.tremblay@nouveau.example"
OTHER_EMAIL = "paul@example.org"
CONFIRM_LINK = re.compile(r"https?://\S+/account/email/confirm/[\w:-]+/")

# What the member reads and clicks, in each of the profile's languages.
WORDS = {
    "fr": {
        "identifier": "Identifiant",
        "password": "Mot de passe",
        "sign_in": "Se connecter",
        "sign_out": "Déconnexion",
        "account": "Compte",
        "email_page": "Adresse courriel de connexion",
        "new_email": "Nouvelle adresse courriel",
        "current_password": "Mot de passe actuel",
        "send_link": "Envoyer le lien",
        "link_sent": f"Un lien de confirmation a été envoyé à {NEW_EMAIL}.",
        "sign_in_to_confirm": "Connectez-vous au compte pour confirmer sa nouvelle adresse",
        "confirm_heading": "Confirmer la nouvelle adresse courriel de connexion",
        "confirm": "Confirmer",
        "email_changed": f"Votre adresse courriel de connexion est maintenant {NEW_EMAIL}.",
        "sessions": "Sessions actives",
        "this_session": "Cette session",
        "end": "Terminer",
        "session_ended": "La session a été terminée.",
        "end_others": "Déconnecter toutes les autres sessions",
        "others_ended": "Vos autres sessions ont été terminées.",
        "privacy": "Mes données personnelles",
        "privacy_heading": "Mes données",
        "download": "Télécharger mes données",
        "delete": "Supprimer mon compte",
        "deletion_planned": "Votre compte sera supprimé le",
        "deletion_cancelled": "La suppression de votre compte, prévue le",
    },
    "en": {
        "identifier": "Identifier",
        "password": "Password",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "account": "Account",
        "email_page": "Sign-in e-mail address",
        "new_email": "New e-mail address",
        "current_password": "Current password",
        "send_link": "Send the link",
        "link_sent": f"A confirmation link has been sent to {NEW_EMAIL}.",
        "sign_in_to_confirm": "Sign in to the account to confirm its new e-mail address.",
        "confirm_heading": "Confirm the new sign-in e-mail address",
        "confirm": "Confirm",
        "email_changed": f"Your sign-in e-mail address is now {NEW_EMAIL}.",
        "sessions": "Active sessions",
        "this_session": "This session",
        "end": "End",
        "session_ended": "The session has been ended.",
        "end_others": "Sign out all other sessions",
        "others_ended": "Your other sessions have been ended.",
        "privacy": "My personal data",
        "privacy_heading": "My data",
        "download": "Download my data",
        "delete": "Delete my account",
        "deletion_planned": "Your account will be deleted on",
        "deletion_cancelled": "Your account's deletion, planned for",
    },
}

languages = pytest.mark.parametrize("language", ["fr", "en"])


@pytest.fixture
def marie(request) -> Account:
    """The member, who reads the portal in the test's language (kept on the account)."""
    language = request.node.callspec.params["language"]
    return make_account(email=EMAIL, code="123456", language=language)


def read_in(page: Page, words: dict[str, str]) -> None:
    """An anonymous visitor picks the language with the header's switch (a form's button)."""
    language = "fr" if words is WORDS["fr"] else "en"
    if page.locator("html").get_attribute("lang") != language:
        with page.expect_navigation():
            page.get_by_test_id(f"language-{language}").click()
        expect(page.locator("html")).to_have_attribute("lang", language)


def sign_in(page: Page, words: dict[str, str], identifier: str, password: str = PASSWORD) -> None:
    if "/login/" not in page.url:
        page.goto("/login/")
    read_in(page, words)
    page.get_by_label(words["identifier"], exact=True).fill(identifier)
    page.get_by_label(words["password"], exact=True).fill(password)
    submit(page, words["sign_in"])


def open_account_page(page: Page, words: dict[str, str], link: str) -> None:
    """« Compte » in the header's name menu, then one of its links."""
    page.get_by_test_id("name-menu").click()
    page.locator("header").get_by_role("link", name=words["account"], exact=True).click()
    expect(page.get_by_role("heading", name=words["account"], exact=True)).to_be_visible()
    page.locator("main").get_by_role("link", name=link, exact=True).click()


def is_sign_in_page(page: Page, portal_url: str) -> None:
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal_url)}/login/"))
    expect(page.get_by_test_id("name-menu")).to_have_count(0)


@languages
def test_a_member_changes_the_sign_in_email_confirmed_from_the_new_address(
    new_page: Callable[[], Page],
    inbox: Inbox,
    marie: Account,
    language: str,
    portal_url: str,
    console_errors: list[str],
):
    words = WORDS[language]
    page = new_page()
    sign_in(page, words, EMAIL)
    expect(page).to_have_url(f"{portal_url}/portal/")
    expect(page.locator("html")).to_have_attribute("lang", language)

    open_account_page(page, words, words["email_page"])
    expect(page.get_by_role("heading", name=words["email_page"])).to_be_visible()
    page.get_by_label(words["new_email"], exact=True).fill(NEW_EMAIL)
    page.get_by_label(words["current_password"], exact=True).fill(PASSWORD)
    submit(page, words["send_link"])
    expect(page).to_have_url(f"{portal_url}/account/")
    expect(page.locator(".messages")).to_contain_text(words["link_sent"])
    screenshot(page, f"member-email-change-{language}")

    # The link goes to the new address only. Opened in another browser it shows the new
    # address (nothing changes yet); « Confirmer » asks for the account's sign-in first.
    [mail] = inbox.wait_for(NEW_EMAIL)
    link = CONFIRM_LINK.search(Inbox.text(mail))
    assert link, Inbox.text(mail)
    assert inbox.to(EMAIL) == []
    elsewhere = new_page()
    elsewhere.goto(link.group(0))
    expect(elsewhere).to_have_url(f"{portal_url}/account/email/confirm/")
    read_in(elsewhere, words)
    expect(elsewhere).to_have_url(f"{portal_url}/account/email/confirm/")
    expect(elsewhere.get_by_role("heading", name=words["confirm_heading"])).to_be_visible()
    expect(elsewhere.locator("main")).to_contain_text(NEW_EMAIL)
    submit(elsewhere, words["confirm"])
    is_sign_in_page(elsewhere, portal_url)
    expect(elsewhere.locator(".messages")).to_contain_text(words["sign_in_to_confirm"])
    assert Account.objects.get(pk=marie.pk).email == EMAIL
    sign_in(elsewhere, words, EMAIL)
    expect(elsewhere).to_have_url(f"{portal_url}/account/email/confirm/")
    expect(elsewhere.locator("main")).to_contain_text(NEW_EMAIL)
    assert Account.objects.get(pk=marie.pk).email == EMAIL
    submit(elsewhere, words["confirm"])
    expect(elsewhere.locator(".messages")).to_contain_text(words["email_changed"])
    assert Account.objects.get(pk=marie.pk).email == NEW_EMAIL

    # The old address is told, with the support contact; the new one is the identifier now.
    [notice] = inbox.wait_for(EMAIL)
    assert "support@vestibule.example" in Inbox.text(notice)
    third = new_page()
    sign_in(third, words, EMAIL)
    expect(third).to_have_url(f"{portal_url}/login/")
    expect(third.get_by_test_id("sign-in-error")).to_be_visible()
    sign_in(third, words, NEW_EMAIL)
    expect(third).to_have_url(f"{portal_url}/portal/")
    expect(third.get_by_test_id("name-menu")).to_have_text("Marie Tremblay")
    assert console_errors == []


@languages
def test_a_member_ends_another_session_then_all_the_others(
    new_page: Callable[[], Page],
    marie: Account,
    language: str,
    portal_url: str,
    console_errors: list[str],
):
    words = WORDS[language]
    first, second, third = new_page(), new_page(), new_page()
    for page in (first, second, third):
        sign_in(page, words, EMAIL)
        expect(page).to_have_url(f"{portal_url}/portal/")

    open_account_page(first, words, words["sessions"])
    expect(first.get_by_role("heading", name=words["sessions"])).to_be_visible()
    rows = first.get_by_test_id("session")
    expect(rows).to_have_count(3)
    expect(first.get_by_test_id("current")).to_have_text(words["this_session"])
    screenshot(first, f"member-sessions-{language}")

    # « Terminer » on the second browser's row: the session that signed in second.
    others = rows.filter(has_not=first.get_by_test_id("current"))
    expect(others).to_have_count(2)
    ordered = list(marie.session_records.order_by("created_at").values_list("pk", flat=True))
    assert len(ordered) == 3
    second_form = first.locator(f'form[action="/account/sessions/{ordered[1]}/end/"]')
    with first.expect_navigation():
        second_form.get_by_role("button", name=words["end"], exact=True).click()
    expect(first.locator(".messages")).to_contain_text(words["session_ended"])
    expect(first.get_by_test_id("session")).to_have_count(2)

    second.goto("/account/")
    is_sign_in_page(second, portal_url)
    third.goto("/account/")
    expect(third).to_have_url(f"{portal_url}/account/")

    # « Déconnecter toutes les autres sessions »: the third browser is out too, not the first.
    submit(first, words["end_others"])
    expect(first.locator(".messages")).to_contain_text(words["others_ended"])
    expect(first.get_by_test_id("session")).to_have_count(1)
    third.goto("/portal/")
    is_sign_in_page(third, portal_url)
    first.goto("/account/")
    expect(first).to_have_url(f"{portal_url}/account/")
    assert console_errors == []


@languages
def test_a_member_downloads_their_data_then_asks_for_deletion_and_cancels_by_signing_in(
    new_page: Callable[[], Page],
    inbox: Inbox,
    marie: Account,
    language: str,
    portal_url: str,
    console_errors: list[str],
):
    words = WORDS[language]
    make_account(email=OTHER_EMAIL, code="654321", first_name="Paul", last_name="Gagnon")
    page = new_page()
    sign_in(page, words, EMAIL)
    open_account_page(page, words, words["privacy"])
    expect(page.get_by_role("heading", name=words["privacy_heading"], exact=True)).to_be_visible()
    screenshot(page, f"member-privacy-{language}")

    # The JSON file is the member's, and names no one else.
    with page.expect_download() as download:
        page.get_by_role("button", name=words["download"], exact=True).click()
    assert download.value.suggested_filename.endswith(".json")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["account"]["email"] == EMAIL
    assert OTHER_EMAIL not in text and "Gagnon" not in text and "654321" not in text
    assert Event.objects.filter(kind="account.exported", account=marie).count() == 1

    # « Supprimer mon compte »: the password again, then signed out with the planned date.
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    submit(page, words["delete"])
    expect(page.locator(".messages")).to_contain_text(words["deletion_planned"])
    expect(page.get_by_test_id("name-menu")).to_have_count(0)
    assert Account.objects.get(pk=marie.pk).deletion_requested_at is not None
    inbox.wait_for(EMAIL)

    # Signing in within the grace period takes the request back, and says so.
    sign_in(page, words, EMAIL)
    expect(page).to_have_url(f"{portal_url}/portal/")
    expect(page.locator(".messages")).to_contain_text(words["deletion_cancelled"])
    assert Account.objects.get(pk=marie.pk).deletion_requested_at is None
    assert console_errors == []
