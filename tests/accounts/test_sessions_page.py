"""« Sessions actives »: what the member sees, in French and English."""

import pytest
from django.test import Client

from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import SessionRecord

pytestmark = pytest.mark.django_db
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Safari/604.1"


def signed_in(user_agent: str, address: str, language: str = "fr") -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)
    client.cookies["vestibule_language"] = language
    client.post("/login/", {"identifier": "marie@example.org", "password": PASSWORD})
    return client


@pytest.fixture
def account():
    return make_account()


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "fr",
            [
                "Sessions actives",
                "Navigateur",
                "Adresse",
                "Dernière utilisation",
                "Cette session",
                "Terminer",
                "Déconnecter toutes les autres sessions",
                "Firefox sur Windows",
                "Safari sur iOS",
            ],
        ),
        (
            "en",
            [
                "Active sessions",
                "Browser",
                "Address",
                "Last used",
                "This session",
                "End",
                "Sign out all other sessions",
                "Firefox on Windows",
                "Safari on iOS",
            ],
        ),
    ],
)
def test_the_page_lists_each_session_with_its_browser_and_address(account, language, texts):
    signed_in(IPHONE, "198.51.100.2")
    client = signed_in(FIREFOX, "203.0.113.7", language)
    page = client.get("/account/sessions/").content.decode()
    for text in texts:
        assert text in page, text
    assert "203.0.113.7" in page and "198.51.100.2" in page
    assert page.count('data-testid="session"') == 2
    assert page.count('data-testid="end-session"') == 1  # not on this session's row


@pytest.mark.parametrize(
    ("language", "text"),
    [("fr", "La session a été terminée."), ("en", "The session has been ended.")],
)
def test_ending_a_session_says_so(account, language, text):
    other = signed_in(IPHONE, "198.51.100.2")
    record = SessionRecord.objects.get()
    client = signed_in(FIREFOX, "203.0.113.7", language)
    response = client.post(f"/account/sessions/{record.pk}/end/", follow=True)
    assert text in response.content.decode()
    assert other.get("/account/").status_code == 302
    again = client.post(f"/account/sessions/{record.pk}/end/", follow=True)
    assert ("Cette session était déjà terminée." if language == "fr" else "had already ended") in (
        again.content.decode()
    )


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Vos autres sessions ont été terminées."),
        ("en", "Your other sessions have been ended."),
    ],
)
def test_ending_the_other_sessions_says_so(account, language, text):
    other = signed_in(IPHONE, "198.51.100.2")
    client = signed_in(FIREFOX, "203.0.113.7", language)
    response = client.post("/account/sessions/others/end/", follow=True)
    assert text in response.content.decode()
    assert other.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 200


def test_the_actions_are_posts_only(account):
    client = signed_in(FIREFOX, "203.0.113.7")
    record = SessionRecord.objects.get()
    assert client.get(f"/account/sessions/{record.pk}/end/").status_code == 405
    assert client.get("/account/sessions/others/end/").status_code == 405


def test_the_page_needs_a_session(account):
    assert Client().get("/account/sessions/")["Location"].startswith("/login/")
