"""The header's « Connexion » button: everywhere a visitor may want it, not on the sign-in page."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

HEADER_BUTTON = {
    "fr": '<a class="button" href="/login/">Connexion</a>',
    "en": '<a class="button" href="/login/">Sign in</a>',
}


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_sign_in_page_has_no_header_sign_in_button(language):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert HEADER_BUTTON[language] not in client.get(reverse("accounts:login")).content.decode()
    assert HEADER_BUTTON[language] in client.get(reverse("web:help")).content.decode()
