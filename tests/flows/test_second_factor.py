"""Sign-in with a second factor: the sign-in flow's second_factor stage."""

import html

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory

from tests.factories import PASSWORD, make_account
from tests.flows.mfa_helpers import app_enrol, code_give, password_give, signed_in_as
from tests.flows.walk import answer, last_link, start
from vestibule.accounts.models import Account
from vestibule.mfa.models import Factor
from vestibule.mfa.services import recovery_codes_generate

pytestmark = pytest.mark.django_db


@pytest.fixture
def member() -> Account:
    return make_account(email="marie@example.org")


def test_the_password_alone_does_not_sign_in_a_member_with_an_app(client, member):
    totp = app_enrol(member)
    response = password_give(client, "marie@example.org")
    assert response["Location"] == "/flow/sign_in/"
    assert signed_in_as(client) is None
    page = html.unescape(client.get("/flow/sign_in/").content.decode())
    assert "Deuxième étape de la connexion" in page
    assert client.get("/portal/")["Location"].startswith("/login/")

    code_give(client, totp.now())
    assert signed_in_as(client) == member.pk
    assert client.session["vestibule_amr"] == ["pwd", "otp", "mfa"]
    assert client.get("/portal/").status_code == 200


def test_a_member_without_a_factor_signs_in_with_the_password(client, member):
    password_give(client, "marie@example.org")
    assert signed_in_as(client) == member.pk
    assert client.session["vestibule_amr"] == ["pwd"]


def test_the_sign_in_goes_on_to_next(client, member):
    totp = app_enrol(member)
    password_give(client, "marie@example.org", next="/account/")
    assert code_give(client, totp.now())["Location"] == "/account/"


def test_a_code_is_accepted_once(client, member):
    totp = app_enrol(member)
    code = totp.now()
    password_give(client, "marie@example.org")
    code_give(client, code)
    assert signed_in_as(client) == member.pk
    other = Client()
    password_give(other, "marie@example.org")
    code_give(other, code)
    assert signed_in_as(other) is None


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Ce code n'est pas valide. Tapez le code que votre application affiche maintenant."),
        ("en", "This code is not valid. Type the code your app shows now."),
    ],
)
def test_a_wrong_code_is_refused(member, language, message):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    app_enrol(member)
    password_give(client, "marie@example.org")
    response = code_give(client, "000000")
    assert message in html.unescape(response.content.decode())
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Tapez le code que votre application affiche, ou un code de récupération."),
        ("en", "Enter the code your app shows, or a recovery code."),
    ],
)
def test_the_code_is_required(member, language, message):
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    app_enrol(member)
    password_give(client, "marie@example.org")
    response = code_give(client, "")
    assert message in html.unescape(response.content.decode())


def test_the_fifth_wrong_code_locks_the_account(client, member):
    totp = app_enrol(member)
    password_give(client, "marie@example.org")
    for wrong in ["000000", "111111", "222222", "333333"]:
        code_give(client, wrong)
    member.refresh_from_db()
    assert member.locked_at is None
    response = code_give(client, "444444")
    member.refresh_from_db()
    assert member.locked_at is not None
    assert response["Location"] == "/login/"
    assert "verrouillé" in html.unescape(client.get("/login/").content.decode())
    # Locked: no flow runs any more, and the password is refused before any code is asked.
    assert client.get("/flow/sign_in/")["Location"] == "/login/"
    assert password_give(client, "marie@example.org").status_code == 200
    assert "flow:sign_in" not in client.session
    assert signed_in_as(client) is None
    assert totp.now()


def test_wrong_codes_and_wrong_passwords_share_one_lockout(client, member):
    app_enrol(member)
    password_give(client, "marie@example.org")
    for wrong in ["000000", "111111", "222222", "333333"]:
        code_give(client, wrong)
    password_give(Client(), "marie@example.org", password="not the password")
    member.refresh_from_db()
    assert member.locked_at is not None


def test_a_right_password_does_not_forgive_wrong_codes(member):
    app_enrol(member)
    for round_ in range(2):
        client = Client()
        password_give(client, "marie@example.org")
        for wrong in ["000000", "111111", "222222"][: 3 - round_]:
            code_give(client, wrong)
    member.refresh_from_db()
    assert member.locked_at is not None


def test_a_recovery_code_works_once(member):
    app_enrol(member)
    codes = recovery_codes_generate(account=member, request=RequestFactory().get("/"))
    first = Client()
    password_give(first, "marie@example.org")
    code_give(first, codes[0].upper())
    assert signed_in_as(first) == member.pk
    second = Client()
    password_give(second, "marie@example.org")
    code_give(second, codes[0])
    assert signed_in_as(second) is None


def test_use_another_method_switches_from_the_passkey_to_the_code(client, member):
    totp = app_enrol(member)
    Factor.objects.create(
        account=member, kind=Factor.Kind.WEBAUTHN, name="Laptop", credential_id="AAAA"
    )
    password_give(client, "marie@example.org")
    page = html.unescape(client.get("/flow/sign_in/").content.decode())
    assert "Utiliser ma clé d'accès" in page and "Utiliser une autre méthode" in page
    assert 'name="code"' not in page
    state = client.session["flow:sign_in"]
    client.post(
        "/flow/sign_in/",
        {"flow_id": state["id"], "stage_index": state["index"], "other_method": "1"},
    )
    assert 'name="code"' in client.get("/flow/sign_in/").content.decode()
    code_give(client, totp.now())
    assert signed_in_as(client) == member.pk


def test_authenticate_refuses_an_account_that_needs_a_factor(member):
    request = RequestFactory().post("/admin/login/")
    assert authenticate(request, username="marie@example.org", password=PASSWORD) == member
    app_enrol(member)
    assert authenticate(request, username="marie@example.org", password=PASSWORD) is None


def test_the_flow_cannot_be_started_or_finished_from_the_browser(client, member):
    totp = app_enrol(member)
    assert client.get("/flow/sign_in/start/").status_code == 404
    assert client.get("/flow/sign_in/")["Location"] == "/login/"
    # Posting the stage's answer with made-up ids, no password given: nothing.
    response = client.post(
        "/flow/sign_in/", {"flow_id": "A" * 16, "stage_index": "1", "code": totp.now()}
    )
    assert response["Location"] == "/login/"
    assert signed_in_as(client) is None
    # Another browser's run is not this one's.
    owner = Client()
    password_give(owner, "marie@example.org")
    state = owner.session["flow:sign_in"]
    client.post(
        "/flow/sign_in/",
        {"flow_id": state["id"], "stage_index": state["index"], "code": totp.now()},
    )
    assert signed_in_as(client) is None


def test_an_e_mailed_reset_does_not_bypass_the_factor(client, member):
    totp = app_enrol(member)
    start(client, "recovery")
    answer(client, "recovery", identifier="marie@example.org")
    client.get(last_link(member.email, "password_reset"))
    new = "a fresh passphrase 2026"
    answer(client, "recovery", password=new, password_confirm=new)
    assert signed_in_as(client) is None
    assert password_give(client, "marie@example.org", password=new)["Location"] == "/flow/sign_in/"
    assert signed_in_as(client) is None
    code_give(client, totp.now())
    assert signed_in_as(client) == member.pk
