"""A second factor required and none enrolled: enrolment right after the password."""

import html
import re

import pyotp
import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_account
from tests.flows.mfa_helpers import (
    code_give,
    password_give,
    profile_requiring_mfa,
    signed_in_as,
)
from vestibule.accounts.models import Account
from vestibule.mfa.policy import has_factor

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(tmp_path, settings) -> Account:
    profile_requiring_mfa(tmp_path, settings)
    return make_account(email="marie@example.org")


def secret_shown(client: Client) -> str:
    page = client.get("/flow/sign_in/").content.decode()
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def test_enrolment_comes_right_after_the_password_and_before_anything(client, member):
    response = password_give(client, "marie@example.org")
    assert response["Location"] == "/flow/sign_in/"
    page = html.unescape(client.get("/flow/sign_in/").content.decode())
    assert "Ajouter un deuxième facteur" in page and "<svg" in page
    assert signed_in_as(client) is None
    for elsewhere in ["/portal/", "/account/", "/account/sessions/"]:
        assert client.get(elsewhere)["Location"].startswith("/login/")

    code_give(client, pyotp.TOTP(secret_shown(client)).now())
    assert signed_in_as(client) == member.pk
    assert has_factor(member)
    assert client.session["vestibule_amr"] == ["pwd", "otp", "mfa"]
    assert client.get("/portal/").status_code == 200


def test_once_enrolled_the_next_sign_in_asks_for_the_code(client, member):
    password_give(client, "marie@example.org")
    totp = pyotp.TOTP(secret_shown(client))
    code_give(client, totp.now())
    client.post("/logout/")
    password_give(client, "marie@example.org")
    assert "Deuxième étape de la connexion" in client.get("/flow/sign_in/").content.decode()


def test_the_secret_never_comes_from_the_browser(client, member):
    password_give(client, "marie@example.org")
    mine = pyotp.random_base32(32)
    state = client.session["flow:sign_in"]
    client.post(
        "/flow/sign_in/",
        {
            "flow_id": state["id"],
            "stage_index": state["index"],
            "totp_secret": mine,
            "code": pyotp.TOTP(mine).now(),
        },
    )
    assert signed_in_as(client) is None and not has_factor(member)


@pytest.mark.parametrize(
    ("language", "code", "message"),
    [
        ("fr", "", "Tapez le code que votre application affiche."),
        ("en", "", "Enter the code your app shows."),
        ("fr", "000000", "Ce code n'est pas celui qu'affiche votre application."),
        ("en", "000000", "This code is not the one your app shows."),
    ],
)
def test_enrolment_errors(member, language, code, message):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    password_give(client, "marie@example.org")
    response = code_give(client, code)
    assert message in html.unescape(response.content.decode())
    assert signed_in_as(client) is None
