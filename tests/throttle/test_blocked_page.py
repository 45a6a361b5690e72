"""Issue 17: the 429 page of a blocked address says when to try again in local time, and
keeps the language switch, the help and « Mot de passe oublié ? »."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db
IP = "203.0.113.7"
WRONG = "definitely not it"


@pytest.fixture
def blocked(use_profile):
    use_profile("community")  # 20 failures in 15 minutes block for 30 minutes
    for n in range(20):
        Client().post(
            "/login/", {"identifier": f"user{n}@example.org", "password": WRONG}, REMOTE_ADDR=IP
        )


def visitor(language: str) -> Client:
    """A browser as it reaches the block: it loaded the sign-in page (its CSRF cookie)."""
    client = Client(REMOTE_ADDR=IP, enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.get("/login/")
    return client


def blocked_page(client: Client):
    html = client.get("/login/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(
        "/login/",
        {"identifier": "a@example.org", "password": WRONG, "csrfmiddlewaretoken": token},
    )


@pytest.mark.parametrize(
    ("language", "when", "switch", "forgot", "help_"),
    [
        (
            "fr",
            r"Réessayez après \d{1,2} h \d\d \(dans 30 minutes\)\.",
            "English",
            "Mot de passe oublié ?",
            "Aide",
        ),
        (
            "en",
            r"Try again after \d{1,2}:\d\d [AP]M \(in 30 minutes\)\.",
            "Français",
            "Forgot your password?",
            "Help",
        ),
    ],
)
def test_the_blocked_page_says_when_in_local_time_and_keeps_the_ways_out(
    blocked, language, when, switch, forgot, help_
):
    response = blocked_page(visitor(language))
    assert response.status_code == 429
    html = response.content.decode()
    assert re.search(when, html)
    assert f">{switch}</button>" in html
    assert re.search(rf'data-testid="blocked-reset">{re.escape(forgot)}</a>', html)
    assert f'data-testid="blocked-help">{help_}</a>' in html
    assert not response.cookies  # still no session and no new cookie


def test_the_language_switch_of_the_blocked_page_works(blocked):
    client = visitor("fr")
    html = blocked_page(client).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    switched = client.post(
        reverse("web:language"),
        {"language": "en", "next": "/login/", "csrfmiddlewaretoken": token},
    )
    assert switched.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Try again after" in blocked_page(client).content.decode()
