"""Sign-in by identifier (seeds 000, 001, 002), sign-out, sessions."""

import html
import time
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.factories import PASSWORD, make_account
from vestibule.accounts.middleware import SEEN_AT, SIGNED_IN_AT
from vestibule.accounts.models import Account
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db


def session_exists(key: str) -> bool:
    """Whether the session store (database, or Redis when REDIS_URL is set) still has `key`."""
    return import_module(django_settings.SESSION_ENGINE).SessionStore().exists(key)


def sign_in(client: Client, identifier: str, password: str = PASSWORD, **extra):
    return client.post("/login/", {"identifier": identifier, "password": password, **extra})


def error_of(response) -> str:
    return (
        response.context["outcome"].outcome
        if response.context and response.context.get("outcome")
        else ""
    )


def test_the_page_shows_seed_wording_in_french(client, use_profile):
    use_profile("dentists")
    page = html.unescape(client.get("/login/").content.decode())
    for text in [
        "Identifiant",
        "Mot de passe",
        "Se connecter",
        "Mot de passe oublié ?",
        "Vous avez oublié votre nom d'utilisateur ?",
        "Créer un compte",
        "Pour le dentiste, l'identifiant correspond à son numéro de permis",
    ]:
        assert text in page


def test_the_page_in_english(english_client):
    page = english_client.get("/login/").content.decode()
    for text in ["Identifier", "Password", "Forgot your password?", "Forgot your username?"]:
        assert text in page


def test_a_dentist_signs_in_with_the_licence_number(client, use_profile):
    use_profile("dentists")
    make_account(email="dr.lavoie@example.org", code="12345", kind="dentist")
    response = sign_in(client, " 12345 ")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    home = client.get("/portal/").content.decode()
    assert "Marie Tremblay" in home and "Dentiste" in home and "12345" in home


def test_a_delegate_signs_in_with_the_email(client, use_profile):
    use_profile("dentists")
    make_account(email="adjointe@example.org", kind="delegate")
    assert sign_in(client, "Adjointe@Example.org")["Location"] == "/portal/"


@pytest.mark.parametrize("typed", ["54321", " 543 21", "r12345", "E 1234 2012", "50012345"])
def test_physicians_sign_in_with_any_code_format_spaces_and_case_forgiven(
    client, use_profile, typed
):
    use_profile("physicians")
    code = typed.replace(" ", "").upper()
    make_account(email="someone@example.org", code=code)
    assert sign_in(client, typed).status_code == 302


def test_wrong_password_and_unknown_identifier_get_the_same_message(client):
    make_account(code="123456")
    wrong = sign_in(client, "123456", "not the password at all")
    unknown = sign_in(Client(), "654321", "not the password at all")
    assert error_of(wrong) == error_of(unknown) == "invalid"
    assert "Identifiant ou mot de passe incorrect." in wrong.content.decode()
    assert "Identifiant ou mot de passe incorrect." in unknown.content.decode()


def test_an_unknown_identifier_costs_one_password_hash_like_a_known_one(client, monkeypatch):
    from vestibule.accounts.hashers import VestibuleArgon2Hasher

    calls = []
    original = VestibuleArgon2Hasher.encode
    monkeypatch.setattr(
        VestibuleArgon2Hasher,
        "encode",
        lambda self, *a, **k: calls.append(1) or original(self, *a, **k),
    )
    sign_in(client, "nobody@example.org", "whatever password")
    assert len(calls) == 1


def test_a_pending_account_with_the_right_password_is_told_to_activate(client):
    make_account(status=Account.Status.PENDING)
    response = sign_in(client, "marie@example.org")
    assert error_of(response) == "pending"
    html = response.content.decode()
    assert "pas encore activé" in html and "/flow/activation/resend/" in html
    assert "_auth_user_id" not in client.session


def test_a_pending_account_with_a_wrong_password_is_not_told_anything(client):
    make_account(status=Account.Status.PENDING)
    assert error_of(sign_in(client, "marie@example.org", "wrong password here")) == "invalid"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "\\\\evil.example",
        "/\\evil.example",
        "%2F%2Fevil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "http://testserver@evil.example",
    ],
)
def test_next_only_goes_to_paths_of_this_site(client, target):
    make_account()
    response = sign_in(client, "marie@example.org", next=target)
    assert response["Location"] == "/portal/"


def test_next_goes_to_a_path_of_this_site(client):
    make_account()
    assert sign_in(client, "marie@example.org", next="/account/")["Location"] == "/account/"


def test_the_session_key_changes_at_every_sign_in_even_for_the_same_member(client):
    make_account()
    client.get("/login/")
    sign_in(client, "marie@example.org")
    first = client.session.session_key
    sign_in(client, "marie@example.org")
    second = client.session.session_key
    assert first and second and first != second
    assert not session_exists(first)


def test_session_cookie_is_httponly_and_lax(client):
    make_account()
    response = sign_in(client, "marie@example.org")
    cookie = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_signing_out_ends_the_session_on_the_server(client):
    make_account()
    sign_in(client, "marie@example.org")
    key = client.session.session_key
    assert client.post("/logout/")["Location"] == "/"
    assert not session_exists(key)
    assert client.get("/portal/").status_code == 302


def test_sign_out_is_refused_by_get(client):
    make_account()
    sign_in(client, "marie@example.org")
    assert client.get("/logout/").status_code == 405
    assert client.get("/portal/").status_code == 200


def test_private_pages_are_never_cached(client):
    make_account()
    sign_in(client, "marie@example.org")
    assert client.get("/portal/")["Cache-Control"] == "no-store"
    assert client.get("/login/")["Cache-Control"] == "no-store"


def test_an_idle_session_times_out(client):
    make_account()
    sign_in(client, "marie@example.org")
    session = client.session
    session[SEEN_AT] = int(time.time()) - 61 * 60
    session.save()
    assert client.get("/portal/").status_code == 302
    assert "Votre session a expiré" in client.get("/login/").content.decode()


def test_a_session_ends_after_the_absolute_lifetime_even_when_busy(client):
    make_account()
    sign_in(client, "marie@example.org")
    session = client.session
    session[SIGNED_IN_AT] = int(time.time()) - 25 * 3600
    session.save()
    assert client.get("/portal/").status_code == 302


def test_sign_in_success_and_failure_are_audited(client):
    account = make_account()
    sign_in(client, "marie@example.org", "wrong password here")
    sign_in(client, "marie@example.org")
    kinds = list(
        Event.objects.filter(account=account).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["sign_in.failed", "sign_in.succeeded"]


def test_the_forgotten_username_page_gives_the_support_contact(client, use_profile):
    use_profile("extranet")
    page = client.get("/login/forgotten-identifier/").content.decode()
    assert "assistance@extranet.example" in page


def test_the_identifier_is_emailed_to_an_active_account_and_the_answer_is_the_same(use_profile):
    from vestibule.notifications.models import Message

    use_profile("physicians")
    make_account(email="claire@example.org", code="54321")
    pages = []
    for address in ["claire@example.org", "nobody@example.org"]:
        client = Client()
        pages.append(
            client.post("/login/forgotten-identifier/", {"email": address}, follow=True)
            .content.decode()
            .split('name="csrfmiddlewaretoken"')[0]
        )
    assert pages[0] == pages[1]
    mail = Message.objects.get(template="identifier_reminder")
    assert mail.to == "claire@example.org" and "54321" in mail.text()


@pytest.mark.parametrize(
    ("language", "email", "message"),
    [
        ("fr", "", "Ce champ est obligatoire."),
        ("en", "", "This field is required."),
        ("fr", "x@", "Cette adresse courriel est invalide"),
        ("en", "x@", "This e-mail address is invalid"),
    ],
)
def test_the_identifier_reminder_field_errors(use_profile, language, email, message):
    use_profile("physicians")
    client = Client()
    client.cookies["vestibule_language"] = language
    response = client.post("/login/forgotten-identifier/", {"email": email})
    assert any(message in error for error in response.context["form"].errors["email"])


def test_profiles_without_the_reminder_offer_only_the_support_contact(use_profile, client):
    use_profile("extranet")
    page = client.get("/login/forgotten-identifier/").content.decode()
    assert 'name="email"' not in page and "assistance@extranet.example" in page


def test_the_time_outs_come_from_the_profile(client, settings, tmp_path):
    from vestibule.config import PROFILES_DIR

    text = (PROFILES_DIR / "default.toml").read_text()
    custom = tmp_path / "long.toml"
    custom.write_text(
        text.replace("idle_minutes = 60", "idle_minutes = 120").replace(
            "absolute_hours = 24", "absolute_hours = 72"
        )
    )
    settings.VESTIBULE_PROFILE = str(custom)
    make_account()
    response = sign_in(client, "marie@example.org")
    assert response.cookies[django_settings.SESSION_COOKIE_NAME]["max-age"] == 72 * 3600
    session = client.session
    session[SEEN_AT] = int(time.time()) - 90 * 60  # idle 90 min: within 120
    session[SIGNED_IN_AT] = int(time.time()) - 48 * 3600  # 48 h: within 72
    session.save()
    assert client.get("/portal/").status_code == 200
    session = client.session
    session[SEEN_AT] = int(time.time()) - 121 * 60
    session.save()
    assert client.get("/portal/").status_code == 302
