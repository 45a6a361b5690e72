"""The landing page's text is true: it points to nothing that is not there."""

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "text", "dangling"),
    [
        ("fr", "connectez-vous avec votre nom d&#x27;utilisateur", "ci-dessous"),
        ("en", "sign in with your username", "below"),
    ],
)
def test_the_extranet_landing_says_how_to_sign_in_without_pointing_to_missing_instructions(
    use_profile, language, text, dangling
):
    use_profile("extranet")
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = client.get("/").content.decode()
    assert text in page
    assert dangling not in page
