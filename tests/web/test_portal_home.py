"""The portal home: the hub's links, what to do next, and the coverage panel's way to a code."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import make_account

pytestmark = pytest.mark.django_db


def signed_in(language: str, **fields) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(make_account(language=language, **fields))
    return client


@pytest.mark.parametrize(
    ("language", "link"),
    [("fr", "Renvoyer mon code d'invitation"), ("en", "Resend my invitation code")],
)
def test_an_unlinked_member_finds_resend_my_code_under_the_access_code_link(
    use_profile, language, link
):
    use_profile("telehealth")
    page = signed_in(language, region="qc").get(reverse("web:home")).content.decode()
    code_link = page.index(reverse("coverage:status"))
    resend = page.index(f'href="{reverse("coverage:resend")}" data-testid="resend-code">{link}')
    assert code_link < resend


@pytest.mark.parametrize(
    ("language", "next_step"),
    [
        ("fr", "Aucune section réservée aux membres n’est encore ouverte à votre compte."),
        ("en", "No members' section is open to your account yet."),
    ],
)
def test_a_member_with_nothing_to_do_is_told_what_to_do_next(language, next_step):
    page = signed_in(language).get(reverse("web:home")).content.decode()
    assert next_step in page
    assert f'href="{reverse("web:help")}"' in page
