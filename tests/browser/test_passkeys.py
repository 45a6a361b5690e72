"""Issue 16: passkeys in a real browser. Chromium's virtual authenticator (DevTools'
WebAuthn domain, through Playwright's CDP session) stands for the member's device: a platform
authenticator with resident keys and user verification. http://localhost:PORT is a secure
context, so WebAuthn runs against the live server as it would over HTTPS."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import submit
from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account
from vestibule.mfa.models import Factor

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.mfa.passkey_test_urls")]

EMAIL = "marie@example.org"

WORDS = {
    "fr": {
        "identifier": "Identifiant",
        "password": "Mot de passe",
        "sign_in": "Se connecter",
        "security": "Sécurité de la connexion",
        "name": "Nom de la clé d'accès",
        "add": "Ajouter une clé d'accès",
        "added": "La clé d'accès « Ordinateur portable » a été ajoutée.",
        "cancelled": "Aucune clé d'accès n'a été ajoutée",
    },
    "en": {
        "identifier": "Identifier",
        "password": "Password",
        "sign_in": "Sign in",
        "security": "Sign-in security",
        "name": "Name of the passkey",
        "add": "Add a passkey",
        "added": "The passkey “Ordinateur portable” has been added.",
        "cancelled": "No passkey was added",
    },
}

languages = pytest.mark.parametrize("language", ["fr", "en"])


def virtual_authenticator(page: Page, *, user_verified: bool = True) -> tuple[object, str]:
    """A platform authenticator in this page's browser; (the CDP session, its id)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def open_sign_in(page: Page, language: str) -> None:
    page.goto("/login/")
    if page.locator("html").get_attribute("lang") != language:
        with page.expect_navigation():
            page.get_by_test_id(f"language-{language}").click()


def sign_in_with_password(page: Page, words: dict[str, str], language: str) -> None:
    open_sign_in(page, language)
    page.get_by_label(words["identifier"], exact=True).fill(EMAIL)
    page.get_by_label(words["password"], exact=True).fill(PASSWORD)
    submit(page, words["sign_in"])


@pytest.fixture
def marie(request) -> Account:
    callspec = getattr(request.node, "callspec", None)
    language = callspec.params.get("language", "fr") if callspec else "fr"
    return make_account(email=EMAIL, language=language)


def add_passkey(page: Page, words: dict[str, str], name: str = "Ordinateur portable") -> None:
    page.goto("/account/security/")
    expect(page.get_by_role("heading", name=words["security"], exact=True)).to_be_visible()
    page.get_by_label(words["name"], exact=True).fill(name)
    with page.expect_navigation():
        page.get_by_role("button", name=words["add"], exact=True).click()


@languages
def test_a_member_adds_a_passkey_on_the_security_page(
    new_page: Callable[[], Page],
    marie: Account,
    language: str,
    portal_url: str,
    console_errors: list[str],
):
    words = WORDS[language]
    page = new_page()
    cdp, authenticator = virtual_authenticator(page)
    sign_in_with_password(page, words, language)
    add_passkey(page, words)

    expect(page).to_have_url(f"{portal_url}/account/security/")
    expect(page.locator(".messages")).to_contain_text(words["added"])
    expect(page.get_by_test_id("factor").filter(has_text="Ordinateur portable")).to_have_count(1)
    factor = Factor.objects.get(account=marie, kind=Factor.Kind.WEBAUTHN)
    assert factor.user_verified and factor.transports == ["internal"]
    # The browser holds it as a discoverable credential (for passwordless sign-in), made for
    # this site (relying party "localhost") and no other.
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    (credential,) = credentials["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    assert re.sub("[=]", "", credential["credentialId"].replace("+", "-").replace("/", "_")) == (
        factor.credential_id
    )
    assert console_errors == []


def test_the_same_device_cannot_be_added_twice(
    new_page: Callable[[], Page], marie: Account, console_errors: list[str]
):
    words = WORDS["fr"]
    page = new_page()
    virtual_authenticator(page)
    sign_in_with_password(page, words, "fr")
    add_passkey(page, words)
    # The options name the passkeys the account has: the device refuses to make another.
    page.get_by_label(words["name"], exact=True).fill("Encore")
    page.get_by_role("button", name=words["add"], exact=True).click()
    expect(page.get_by_text(words["cancelled"])).to_be_visible()
    expect(page.get_by_role("button", name=words["add"], exact=True)).to_be_enabled()
    assert Factor.objects.filter(account=marie).count() == 1
    assert console_errors == []


SIGN_IN_WORDS = {
    "fr": {
        "use_passkey": "Utiliser ma clé d'accès",
        "passwordless": "Se connecter avec une clé d'accès",
    },
    "en": {"use_passkey": "Use my passkey", "passwordless": "Sign in with a passkey"},
}


def enrolled_then_signed_out(page: Page, language: str) -> None:
    """Marie adds a passkey, then her session ends (her cookies are gone; the device stays)."""
    sign_in_with_password(page, WORDS[language], language)
    add_passkey(page, WORDS[language])
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "vestibule_language", "value": language, "url": page.url}])


@languages
def test_a_member_signs_in_with_password_then_passkey(
    new_page: Callable[[], Page],
    marie: Account,
    language: str,
    portal_url: str,
    console_errors: list[str],
):
    page = new_page()
    virtual_authenticator(page)
    enrolled_then_signed_out(page, language)
    sign_in_with_password(page, WORDS[language], language)
    # Not signed in yet: the second step asks for the passkey first.
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal_url)}/flow/sign_in/"))
    expect(page.get_by_test_id("name-menu")).to_have_count(0)
    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_IN_WORDS[language]["use_passkey"]).click()
    expect(page).to_have_url(f"{portal_url}/portal/")
    expect(page.get_by_test_id("name-menu")).to_be_visible()
    assert Factor.objects.get(account=marie).last_used_at is not None
    assert console_errors == []


@languages
def test_a_member_signs_in_with_a_passkey_alone(
    new_page: Callable[[], Page],
    marie: Account,
    language: str,
    portal_url: str,
    console_errors: list[str],
):
    page = new_page()
    virtual_authenticator(page)
    enrolled_then_signed_out(page, language)
    open_sign_in(page, language)
    # No identifier, no password: the browser offers the passkeys it holds for the site.
    with page.expect_navigation():
        page.get_by_role("button", name=SIGN_IN_WORDS[language]["passwordless"]).click()
    page.get_by_role("button", name=SIGN_IN_WORDS[language]["use_passkey"]).click()
    expect(page).to_have_url(f"{portal_url}/portal/")
    expect(page.get_by_test_id("name-menu")).to_be_visible()
    assert console_errors == []
