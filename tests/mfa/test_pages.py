"""« Compte » → « Sécurité de la connexion » (mfa/views.py), in French and English."""

import re

import pyotp
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account
from tests.mfa.profiles import administrators_required
from vestibule.audit.models import Event
from vestibule.establishments.models import Establishment, Membership
from vestibule.mfa import services
from vestibule.mfa.models import Factor, RecoveryCode
from vestibule.notifications.sealing import body_unseal

pytestmark = pytest.mark.django_db


def browser(account, language: str = "fr") -> Client:
    client = Client(REMOTE_ADDR="198.51.100.7")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(account)
    return client


@pytest.fixture
def account():
    return make_account()


@pytest.fixture
def member(account):
    return browser(account)


def secret_shown(page: str) -> str:
    return re.search(r'data-testid="secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def add_app(client: Client, name: str = "Téléphone") -> Factor:
    secret = secret_shown(client.get("/account/security/app/add/").content.decode())
    response = client.post(
        "/account/security/app/add/", {"name": name, "code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 302, response.content.decode()
    return Factor.objects.get(name=name)


def test_the_account_page_links_to_sign_in_security(member):
    page = member.get("/account/").content.decode()
    assert "Sécurité de la connexion" in page
    assert 'href="/account/security/"' in page


def test_the_page_is_in_french_and_english(account, member):
    page = member.get("/account/security/").content.decode()
    for text in [
        "Sécurité de la connexion",
        "Ajouter une application d'authentification",
        "Codes de récupération",
    ]:
        assert text in page.replace("&#x27;", "'")
    english = browser(account, "en").get("/account/security/").content.decode()
    for text in ["Sign-in security", "Add an authenticator app", "Recovery codes"]:
        assert text in english


def test_the_page_needs_a_signed_in_member(client):
    response = client.get("/account/security/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_adding_an_app_shows_a_qr_code_and_the_secret(member, account):
    page = member.get("/account/security/app/add/").content.decode()
    assert "<svg" in page and "<script" not in page.split("<main")[-1].split("</main>")[0]
    secret = secret_shown(page)
    # A reload shows the same secret: the app may have scanned it already.
    assert secret_shown(member.get("/account/security/app/add/").content.decode()) == secret
    factor = add_app(member)
    assert body_unseal(factor.totp_secret_sealed) == secret
    listed = member.get("/account/security/").content.decode()
    assert "Téléphone" in listed and "Application d'authentification" in listed.replace(
        "&#x27;", "'"
    )
    # The next addition gets a new secret.
    assert secret_shown(member.get("/account/security/app/add/").content.decode()) != secret


def test_the_secret_is_not_in_the_session_in_clear(member):
    page = member.get("/account/security/app/add/").content.decode()
    secret = secret_shown(page)
    assert secret not in repr(dict(member.session))


@pytest.mark.parametrize(
    ("language", "data", "field", "message"),
    [
        ("fr", {"code": ""}, "code", "Saisissez le code affiché par votre application."),
        ("en", {"code": ""}, "code", "Type the code your app shows."),
        (
            "fr",
            {"code": "000000"},
            "code",
            "Ce code n'est pas celui qu'affiche votre application. "
            "Vérifiez l'application et saisissez le nouveau code.",
        ),
        (
            "en",
            {"code": "000000"},
            "code",
            "This code is not the one your app shows. Check the app and type the new code.",
        ),
        ("fr", {"code": "1" * 21}, "code", "Saisissez le code affiché par votre application."),
        ("en", {"code": "1" * 21}, "code", "Type the code your app shows."),
        ("fr", {"code": "1", "name": "x" * 65}, "name", "Limitez le nom à 64 caractères."),
        ("en", {"code": "1", "name": "x" * 65}, "name", "Keep the name to 64 characters."),
    ],
)
def test_add_app_field_errors(account, language, data, field, message):
    client = browser(account, language)
    client.get("/account/security/app/add/")
    response = client.post("/account/security/app/add/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert message in errors
    assert not Factor.objects.exists()


def test_removing_a_factor_needs_the_password(member, account, inbox):
    factor = add_app(member)
    response = member.post(
        f"/account/security/factors/{factor.pk}/remove/", {"current_password": "wrong one"}
    )
    assert response.status_code == 200
    assert Factor.objects.filter(pk=factor.pk).exists()
    response = member.post(
        f"/account/security/factors/{factor.pk}/remove/", {"current_password": PASSWORD}
    )
    assert response.status_code == 302
    assert not Factor.objects.filter(pk=factor.pk).exists()
    assert Event.objects.filter(kind="mfa.factor_removed", account_id=account.pk).exists()


@pytest.mark.parametrize(
    ("language", "password", "message"),
    [
        ("fr", "", "Saisissez votre mot de passe pour confirmer."),
        ("en", "", "Type your password to confirm."),
        ("fr", "wrong one", "Ce n'est pas votre mot de passe actuel."),
        ("en", "wrong one", "This is not your current password."),
    ],
)
def test_remove_field_errors(account, language, password, message):
    factor = Factor.objects.create(account=account, kind=Factor.Kind.TOTP, name="Phone")
    client = browser(account, language)
    response = client.post(
        f"/account/security/factors/{factor.pk}/remove/", {"current_password": password}
    )
    assert message in response.context["form"].errors["current_password"]
    assert Factor.objects.filter(pk=factor.pk).exists()


def test_wrong_passwords_on_removal_lock_the_account_and_sign_out(member, account):
    factor = Factor.objects.create(account=account, kind=Factor.Kind.TOTP, name="Phone")
    url = f"/account/security/factors/{factor.pk}/remove/"
    for _ in range(4):
        assert member.post(url, {"current_password": "wrong one"}).status_code == 200
    response = member.post(url, {"current_password": "wrong one"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    account.refresh_from_db()
    assert account.locked_at is not None
    assert Factor.objects.filter(pk=factor.pk).exists()


def test_another_accounts_factor_cannot_be_removed(member):
    other = make_account(email="paul@example.org")
    factor = Factor.objects.create(account=other, kind=Factor.Kind.TOTP, name="Phone")
    url = f"/account/security/factors/{factor.pk}/remove/"
    assert member.get(url).status_code == 404
    assert member.post(url, {"current_password": PASSWORD}).status_code == 404
    assert Factor.objects.filter(pk=factor.pk).exists()


def test_the_last_factor_stays_when_the_profile_requires_one(tmp_path, settings):
    administrators_required("extranet", tmp_path, settings)
    account = make_account(kind="user")
    establishment = Establishment.objects.create(name="Hôtel", public_id="H1")
    Membership.objects.create(account=account, establishment=establishment, rights=["users"])
    first = Factor.objects.create(account=account, kind=Factor.Kind.TOTP, name="Phone")
    second = Factor.objects.create(account=account, kind=Factor.Kind.TOTP, name="Tablet")
    client = browser(account, "en")
    ok = client.post(
        f"/account/security/factors/{first.pk}/remove/", {"current_password": PASSWORD}
    )
    assert ok.status_code == 302
    refused = client.post(
        f"/account/security/factors/{second.pk}/remove/",
        {"current_password": PASSWORD},
        follow=True,
    )
    assert "requires a second factor" in refused.content.decode()
    assert Factor.objects.filter(pk=second.pk).exists()


def test_recovery_codes_are_shown_once_and_downloadable_once(member, account):
    response = member.post("/account/security/recovery-codes/")
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-store" in response["Cache-Control"]
    )
    codes = re.findall(r"<code>([a-z0-9-]+)</code>", response.content.decode())
    assert len(codes) == 10
    download = member.post("/account/security/recovery-codes/download/")
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"].startswith("text/plain")
    text = download.content.decode()
    assert all(code in text for code in codes)
    assert member.post("/account/security/recovery-codes/download/").status_code == 404
    page = member.get("/account/security/").content.decode()
    assert not any(code in page for code in codes)
    assert "10 codes de récupération inutilisés" in page
    assert services.recovery_code_use(account=account, code=codes[0], request=response.wsgi_request)


def test_leaving_the_codes_page_forgets_them(member):
    member.post("/account/security/recovery-codes/")
    member.get("/account/security/")
    assert member.post("/account/security/recovery-codes/download/").status_code == 404


def test_regenerating_from_the_page_ends_the_old_codes(member, account):
    member.post("/account/security/recovery-codes/")
    first = set(RecoveryCode.objects.values_list("digest", flat=True))
    member.post("/account/security/recovery-codes/")
    assert not first & set(RecoveryCode.objects.values_list("digest", flat=True))
    assert RecoveryCode.objects.filter(account=account, used_at__isnull=True).count() == 10


def test_generating_codes_needs_a_post(member):
    assert member.get("/account/security/recovery-codes/").status_code == 405


def test_factors_list_name_kind_added_and_last_used(member, account):
    Factor.objects.create(
        account=account, kind=Factor.Kind.TOTP, name="Phone", last_used_at=timezone.now()
    )
    Factor.objects.create(account=account, kind=Factor.Kind.WEBAUTHN, name="YubiKey")
    page = browser(account, "en").get("/account/security/").content.decode()
    assert page.count('data-testid="factor"') == 2
    assert "YubiKey" in page and "Passkey" in page and "never" in page
