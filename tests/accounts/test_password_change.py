import pytest
from django.test import Client

from tests.factories import PASSWORD, make_account
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
NEW = "another long passphrase"


def change(client: Client, current: str = PASSWORD, new: str = NEW, confirm: str | None = None):
    return client.post(
        "/account/password/",
        {
            "current_password": current,
            "password": new,
            "password_confirm": new if confirm is None else confirm,
        },
    )


@pytest.fixture
def signed_in(client):
    account = make_account()
    client.post("/login/", {"identifier": account.email, "password": PASSWORD})
    return account


def test_the_page_uses_seed_001_wording(client, signed_in):
    page = client.get("/account/password/").content.decode()
    for text in [
        "Mot de passe actuel",
        "Nouveau mot de passe",
        "Confirmation du nouveau mot de passe",
        "Enregistrer",
    ]:
        assert text in page


def test_a_change_keeps_this_session_ends_the_others_and_sends_an_email(client, signed_in):
    other = Client()
    other.post("/login/", {"identifier": signed_in.email, "password": PASSWORD})
    assert other.get("/portal/").status_code == 200
    assert change(client)["Location"] == "/account/"
    assert client.get("/portal/").status_code == 200
    assert other.get("/portal/").status_code == 302
    signed_in.refresh_from_db()
    assert signed_in.check_password(NEW)
    assert Message.objects.filter(template="password_changed", to=signed_in.email).count() == 1


@pytest.mark.parametrize(
    ("language", "kwargs", "field", "message"),
    [
        ("fr", {"current": "wrong"}, "current_password", "n'est pas votre mot de passe actuel"),
        ("en", {"current": "wrong"}, "current_password", "This is not your current password."),
        ("fr", {"current": ""}, "current_password", "Ce champ est obligatoire."),
        ("en", {"current": ""}, "current_password", "This field is required."),
        ("fr", {"new": "short"}, "password", "minimum de 15 caractères"),
        ("en", {"new": "short"}, "password", "at least 15 characters"),
        ("fr", {"new": "x" * 129}, "password", "un maximum de 128 caractères"),
        ("en", {"new": "x" * 129}, "password", "at most 128 characters"),
        ("fr", {"new": "marie@example.org"}, "password", "trop proche de votre adresse courriel"),
        ("en", {"new": "marie@example.org"}, "password", "too close to your e-mail address"),
        (
            "fr",
            {"confirm": "something else entirely"},
            "password_confirm",
            "Les mots de passe doivent être identiques.",
        ),
        (
            "en",
            {"confirm": "something else entirely"},
            "password_confirm",
            "The passwords must be identical.",
        ),
    ],
)
def test_errors_are_tied_to_their_fields(client, signed_in, language, kwargs, field, message):
    client.cookies["vestibule_language"] = language
    response = change(client, **kwargs)
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    signed_in.refresh_from_db()
    assert signed_in.check_password(PASSWORD)


def test_wrong_current_passwords_count_toward_the_lockout(client, signed_in):
    for _ in range(4):
        change(client, current="wrong")
    response = change(client, current="wrong")
    assert response["Location"] == "/login/"
    signed_in.refresh_from_db()
    assert signed_in.locked_at is not None
    assert client.get("/portal/").status_code == 302


def test_a_long_password_is_kept_whole_never_truncated(client, signed_in):
    long_password = "une phrase de passe " * 6 + "fin"  # 123 characters
    response = change(client, new=long_password, confirm=long_password)
    assert response.status_code == 302
    signed_in.refresh_from_db()
    assert signed_in.check_password(long_password)
    assert not signed_in.check_password(long_password[:72])
    assert not signed_in.check_password(long_password[:-1])
