"""The cookie notice says what the site stores, and the site stores nothing else."""

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, make_account
from vestibule.web.context_processors import CONSENT_COOKIE

pytestmark = pytest.mark.django_db

NOTICE = {
    "fr": "Ce site n’enregistre que les témoins nécessaires : votre session, la protection des "
    "formulaires, votre langue et ce choix. Aucun pour les statistiques ni la publicité.",
    "en": "This site stores only the cookies it needs: your session, the protection of its "
    "forms, your language and this choice. None for statistics or advertising.",
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_notice_names_the_cookies_in_the_visitor_language(language):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert NOTICE[language] in client.get("/").content.decode()


def test_a_visit_sets_only_the_four_cookies_the_notice_names():
    make_account(email="marie@example.org", code="123456")
    client = Client(enforce_csrf_checks=False)
    set_names: set[str] = set()
    for response in (
        client.get("/"),
        client.get("/login/"),
        client.post("/language/", {"language": "en", "next": "/"}),
        client.post("/cookies/accept/", {"next": "/"}),
        client.post("/login/", {"identifier": "123456", "password": PASSWORD}),
        client.get("/portal/"),
    ):
        set_names |= set(response.cookies)
    allowed = {
        settings.SESSION_COOKIE_NAME,
        settings.CSRF_COOKIE_NAME,
        settings.LANGUAGE_COOKIE_NAME,
        CONSENT_COOKIE,
    }
    assert settings.SESSION_COOKIE_NAME in set_names
    assert set_names <= allowed
