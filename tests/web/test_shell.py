import html

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.factories import make_account

pytestmark = pytest.mark.django_db


def test_french_is_the_default_even_when_the_browser_prefers_english(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "fr"
    assert '<html lang="fr">' in page.content.decode()
    assert "Connexion" in page.content.decode()


def test_the_language_switch_sets_a_cookie_and_english_follows(client):
    switched = client.post("/language/", {"language": "en", "next": "/help/"})
    assert switched.status_code == 302 and switched["Location"] == "/help/"
    assert switched.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = client.get("/help/")
    assert page["Content-Language"] == "en"
    assert "Contact us" in page.content.decode()


def test_the_language_switch_refuses_a_foreign_next(client):
    switched = client.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert switched["Location"] == "/"


def test_the_language_chosen_is_stored_on_the_account_and_followed_elsewhere(client):
    account = make_account()
    client.force_login(account)
    client.post("/language/", {"language": "en", "next": "/"})
    account.refresh_from_db()
    assert account.language == "en"
    other_browser = Client()
    other_browser.force_login(account)
    assert other_browser.get("/portal/")["Content-Language"] == "en"


def test_every_page_carries_the_security_headers(client):
    page = client.get("/")
    csp = page["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page["X-Frame-Options"] == "DENY"
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "same-origin"
    assert page["Cache-Control"] == "no-store"


def test_the_cookie_notice_shows_until_accepted(client):
    assert 'data-testid="cookie-notice"' in client.get("/").content.decode()
    accepted = client.post("/cookies/accept/", {"next": "/help/"})
    assert accepted["Location"] == "/help/"
    assert 'data-testid="cookie-notice"' not in client.get("/").content.decode()


def test_the_cookie_notice_links_to_the_privacy_page(client):
    page = client.get("/").content.decode()
    assert "Utilisation de témoins" in page
    assert 'href="/privacy/">Confidentialité et témoins' in page
    privacy = client.get("/privacy/").content.decode()
    assert "témoin de session" in privacy


def test_the_help_page_gives_the_profile_support_contact(client, use_profile):
    use_profile("dentists")
    page = client.get("/help/").content.decode()
    assert "Francis Brunelle" in page and "514 282-1425" in page and "poste 318" in page


def test_an_unknown_page_gives_the_support_contact(client):
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "support@vestibule.example" in page.content.decode()


def test_the_header_offers_sign_in_then_the_name_menu(client):
    assert 'href="/login/"' in client.get("/").content.decode()
    client.force_login(make_account())
    page = client.get("/portal/").content.decode()
    assert "Marie Tremblay" in page and "Déconnexion" in page and "Aide" in page


def test_the_development_mail_page_lists_mail_and_is_gone_in_production(client, settings):
    assert client.get("/dev/mail/").status_code == 200
    settings.PRODUCTION = True
    assert client.get("/dev/mail/").status_code == 404


def test_the_development_mail_page_answers_only_this_machine(settings):
    settings.ALLOWED_HOSTS = ["*"]
    assert Client(REMOTE_ADDR="::1").get("/dev/mail/").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.10").get("/dev/mail/").status_code == 404


def test_a_csrf_failure_page_explains_what_to_do():
    client = Client(enforce_csrf_checks=True)
    page = client.post("/language/", {"language": "en"})
    assert page.status_code == 403
    assert "formulaire" in page.content.decode()


@pytest.mark.parametrize(
    ("language", "greeting", "kind"),
    [("fr", "Bienvenue, Claire Fortin", "Médecin"), ("en", "Welcome, Claire Fortin", "Physician")],
)
def test_the_portal_home_greets_the_member_and_shows_kind_and_identifier(
    use_profile, language, greeting, kind
):
    use_profile("physicians")
    account = make_account(
        email="claire@example.org",
        code="54321",
        kind="physician",
        first_name="Claire",
        last_name="Fortin",
        language=language,
    )
    client = Client()
    client.cookies["vestibule_language"] = language
    client.force_login(account)
    page = html.unescape(client.get("/portal/").content.decode())
    assert f'data-testid="greeting">{greeting}<' in page
    assert f'data-testid="member-kind">{kind}<' in page
    assert 'data-testid="member-identifier">54321<' in page
