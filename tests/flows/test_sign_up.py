"""Seed 000 (dentists), seed 003 (community) and seed 004 (telehealth) sign-up, stage by stage."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import make_account, make_member
from tests.flows.walk import answer, flow_state, last_link, stage_index, start
from tests.mfa.profiles import administrators_required
from vestibule.accounts.models import Account, Confirmation
from vestibule.audit.models import Event
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db

DENTIST = {"email": "dr.lavoie@example.org", "code": "12345"}


@pytest.fixture
def dentists(use_profile):
    use_profile("dentists")
    return make_member(
        kind="dentist",
        code="12345",
        email="dr.lavoie@example.org",
        first_name="Sophie",
        last_name="Lavoie",
    )


def sign_up(client, **overrides):
    fields = {
        "is_member": "on",
        **DENTIST,
        "password": "molaire42",
        "password_confirm": "molaire42",
    }
    fields.update(overrides)
    return answer(client, "registration", **fields)


def field_errors(response, field: str) -> list[str]:
    return response.context["form"].errors.get(field, [])


def test_the_page_shows_seed_000_fields_in_french(client, dentists):
    page = start(client, "registration").content.decode()
    for label in [
        "Je suis un dentiste",
        "Courriel",
        "Numéro de permis",
        "Mot de passe",
        "Confirmez votre mot de passe",
        "Créer mon compte",
    ]:
        assert label in page


def test_the_page_shows_the_fields_in_english(english_client, dentists):
    page = start(english_client, "registration").content.decode()
    for label in [
        "I am a dentist",
        "E-mail",
        "Licence number",
        "Password",
        "Confirm your password",
        "Create my account",
    ]:
        assert label in page


@pytest.mark.parametrize(
    ("language", "field", "overrides", "message"),
    [
        ("fr", "is_member", {"is_member": ""}, "invitation"),
        ("en", "is_member", {"is_member": ""}, "invitation"),
        ("fr", "email", {"email": "dr.lavoie@"}, "Cette adresse courriel est invalide"),
        ("en", "email", {"email": "dr.lavoie@"}, "This e-mail address is invalid"),
        ("fr", "email", {"email": ""}, "Ce champ est obligatoire."),
        ("en", "email", {"email": ""}, "This field is required."),
        ("fr", "code", {"code": "1234"}, "n'a pas le format attendu (ex. : 12345)"),
        ("en", "code", {"code": "1234"}, "does not have the expected format (e.g. 12345)"),
        ("fr", "password", {"password": "", "password_confirm": ""}, "Ce champ est obligatoire."),
        ("en", "password", {"password": "", "password_confirm": ""}, "This field is required."),
        (
            "fr",
            "password",
            {"password": "ab1", "password_confirm": "ab1"},
            "minimum de 6 caractères",
        ),
        ("en", "password", {"password": "ab1", "password_confirm": "ab1"}, "at least 6 characters"),
        (
            "fr",
            "password",
            {"password": "password", "password_confirm": "password"},
            "trop courant",
        ),
        ("en", "password", {"password": "password", "password_confirm": "password"}, "too common"),
        (
            "fr",
            "password_confirm",
            {"password_confirm": "molaire43"},
            "Les mots de passe doivent être identiques.",
        ),
        (
            "en",
            "password_confirm",
            {"password_confirm": "molaire43"},
            "The passwords must be identical.",
        ),
        ("fr", "password_confirm", {"password_confirm": ""}, "Ce champ est obligatoire."),
        ("en", "password_confirm", {"password_confirm": ""}, "This field is required."),
    ],
)
def test_each_field_error_is_tied_to_its_field(dentists, language, field, overrides, message):
    client = Client()
    client.cookies["vestibule_language"] = language
    start(client, "registration")
    response = sign_up(client, **overrides)
    assert response.status_code == 200
    assert any(message in error for error in field_errors(response, field)), field_errors(
        response, field
    )
    html = response.content.decode()
    assert f'id="id_{field}_errors"' in html
    assert f'aria-describedby="id_{field}_errors' in html
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": "someone.else@example.org"},  # e-mail of nobody on file
        {"code": "23456"},  # licence of nobody
    ],
)
def test_email_and_licence_of_no_single_member_get_one_message_with_the_support_contact(
    client, dentists, overrides
):
    make_member(kind="dentist", code="34567", email="dr.cote@example.org")
    start(client, "registration")
    response = sign_up(client, **overrides)
    html = response.content.decode()
    assert "ne correspondent à aucun membre inscrit" in html
    assert "Francis Brunelle" in html and "514 282-1425" in html and "318" in html
    assert not Account.objects.exists()


def test_a_member_who_already_has_an_account_gets_the_same_message(client, dentists):
    make_account(email="dr.lavoie@example.org", code="12345", member=dentists)
    start(client, "registration")
    html = sign_up(client).content.decode()
    assert "ne correspondent à aucun membre inscrit" in html
    assert Account.objects.count() == 1


def test_a_valid_sign_up_creates_a_pending_account_and_sends_the_activation_email(client, dentists):
    start(client, "registration")
    response = sign_up(client, code=" 12345 ")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "a bien été reçue" in page and "dr.lavoie@example.org" in page
    assert "courrier indésirable" in page
    account = Account.objects.get()
    assert (account.status, account.code, account.member, account.kind) == (
        "pending",
        "12345",
        dentists,
        "dentist",
    )
    assert account.first_name == "Sophie"
    mail = Message.objects.get(template="activation")
    assert mail.subject.strip().startswith("Veuillez activer votre compte · ")
    assert "/flow/registration/resume/" in mail.text()
    assert "Activer" in mail.html()
    assert set(Event.objects.values_list("kind", flat=True)) >= {
        "sign_up.requested",
        "activation.sent",
    }


def test_opening_the_link_activates_signs_in_and_announces_the_account(dentists):
    browser = Client()
    start(browser, "registration")
    sign_up(browser)
    link = last_link("dr.lavoie@example.org", "activation")
    other_browser = Client()
    opened = other_browser.get(link)
    assert opened.status_code == 302 and opened["Location"] == "/portal/"
    home = other_browser.get("/portal/").content.decode()
    assert "Sophie Lavoie" in home and "12345" in home
    assert "Vous avez maintenant accès au portail des membres." in home
    account = Account.objects.get()
    assert account.status == "active" and account.activated_at is not None
    assert Message.objects.filter(template="account_created", to=account.email).count() == 1
    assert Event.objects.filter(kind="account.activated", account=account).exists()


def test_a_dentist_whose_practice_requires_a_factor_enrols_one_before_the_portal(
    dentists, tmp_path, settings
):
    administrators_required("dentists", tmp_path, settings)
    browser = Client()
    start(browser, "registration")
    sign_up(browser)
    link = last_link("dr.lavoie@example.org", "activation")
    other_browser = Client()
    opened = other_browser.get(link)
    # Activated, but not signed in: the practice's users right requires a second factor.
    assert opened.status_code == 302 and opened["Location"] == "/flow/sign_in/"
    assert Account.objects.get().status == "active"
    assert "_auth_user_id" not in other_browser.session
    assert other_browser.get("/portal/").status_code == 302
    assert "Ajouter un deuxième facteur" in other_browser.get("/flow/sign_in/").content.decode()


def test_a_used_link_offers_to_send_a_new_one(client, dentists):
    start(client, "registration")
    sign_up(client)
    link = last_link("dr.lavoie@example.org", "activation")
    assert Client().get(link).status_code == 302
    again = Client().get(link)
    assert again.status_code == 410
    html = again.content.decode()
    assert "déjà été utilisé" in html and "/flow/activation/resend/" in html


def test_an_expired_link_offers_to_send_a_new_one(client, dentists):
    start(client, "registration")
    sign_up(client)
    link = last_link("dr.lavoie@example.org", "activation")
    Confirmation.objects.update(expires_at=timezone.now())
    expired = Client().get(link)
    assert expired.status_code == 410
    assert "a expiré" in expired.content.decode()
    assert Account.objects.get().status == "pending"


def test_a_resubmitted_form_creates_one_account_and_sends_one_email(client, dentists):
    start(client, "registration")
    state = flow_state(client, "registration")
    fields = {
        "flow_id": state["id"],
        "stage_index": "0",
        "is_member": "on",
        **DENTIST,
        "password": "molaire42",
        "password_confirm": "molaire42",
    }
    first = client.post("/flow/registration/", fields)
    second = client.post("/flow/registration/", fields)
    assert first.status_code == second.status_code == 302
    assert Account.objects.count() == 1
    assert Message.objects.filter(template="activation").count() == 1


def test_unticking_i_am_a_dentist_explains_the_invitation_and_creates_nothing(client, dentists):
    start(client, "registration")
    response = sign_up(client, is_member="")
    assert "invitation" in response.content.decode()
    assert not Account.objects.exists()


def test_a_later_stage_cannot_be_reached_by_naming_it(client, dentists):
    start(client, "registration")
    state = flow_state(client, "registration")
    client.post("/flow/registration/", {"flow_id": state["id"], "stage_index": "1"})
    assert stage_index(client, "registration") == 0
    assert not Message.objects.exists()


def test_open_registration_with_a_registered_email_tells_nobody_but_the_owner(client, use_profile):
    use_profile("community")
    make_account(email="camille@example.org")
    start(client, "registration")
    response = answer(
        client,
        "registration",
        email="Camille@example.org",
        password="nouveau-passe-9",
        password_confirm="nouveau-passe-9",
    )
    page = client.get(response["Location"]).content.decode()
    fresh = Client()
    start(fresh, "registration")
    fresh_response = answer(
        fresh,
        "registration",
        email="nobody@example.org",
        password="nouveau-passe-9",
        password_confirm="nouveau-passe-9",
    )
    fresh_page = fresh.get(fresh_response["Location"]).content.decode()
    # The same page for a registered and an unregistered address, but for the address itself.
    assert _without(page, "camille@example.org") == _without(fresh_page, "nobody@example.org")
    assert Account.objects.filter(email__iexact="camille@example.org").count() == 1
    assert (
        Message.objects.filter(to="camille@example.org", template="already_registered").count() == 1
    )
    assert not Message.objects.filter(to="camille@example.org", template="activation").exists()


def _without(page: str, email: str) -> str:
    page = page.replace(email, "EMAIL")
    return re.sub(r'value="[^"]*"', 'value=""', page)


def test_a_pending_account_signing_up_again_gets_a_new_link_not_a_second_account(
    client, use_profile
):
    use_profile("community")
    for _ in range(2):
        browser = Client()
        start(browser, "registration")
        answer(
            browser,
            "registration",
            email="camille@example.org",
            password="nouveau-passe-9",
            password_confirm="nouveau-passe-9",
        )
    assert Account.objects.count() == 1
    assert Message.objects.filter(template="activation").count() == 2


def test_the_sign_up_page_has_the_language_switch_before_the_form(client, use_profile):
    use_profile("community")
    page = start(client, "registration").content.decode()
    assert page.index('data-testid="language-en"') < page.index(
        '<form method="post" action="/flow/'
    )


# A stranger signing up first or second with someone's address: test_sign_up_takeover.py.


@pytest.mark.parametrize("taken", [False, True])
def test_an_open_sign_up_hashes_once_whether_or_not_the_address_has_an_account(
    use_profile, monkeypatch, taken
):
    """The same work, so the same time, for a registered address as for a new one (seed 004)."""
    from vestibule.accounts.hashers import VestibuleArgon2Hasher

    use_profile("telehealth")
    if taken:
        make_account(email="camille@example.org")
    encoded = []
    original = VestibuleArgon2Hasher.encode
    monkeypatch.setattr(
        VestibuleArgon2Hasher,
        "encode",
        lambda self, *args, **kwargs: encoded.append(1) or original(self, *args, **kwargs),
    )
    browser = Client()
    start(browser, "registration")
    fields = {"email": "camille@example.org", "password": "un-passe-assez-long", "region": "qc"}
    answer(browser, "registration", password_confirm=fields["password"], **fields)
    assert len(encoded) == 1


def test_an_activation_link_of_an_account_disabled_meanwhile_signs_nobody_in(use_profile):
    use_profile("community")
    browser = Client()
    start(browser, "registration")
    password = "un-passe-assez-long"
    answer(
        browser,
        "registration",
        email="camille@example.org",
        password=password,
        password_confirm=password,
    )
    Account.objects.update(status=Account.Status.DISABLED)
    opened = Client()
    assert opened.get(last_link("camille@example.org", "activation"))["Location"] == "/login/"
    assert opened.get("/portal/").status_code == 302
    assert Account.objects.get().status == Account.Status.DISABLED


def test_a_profile_may_turn_off_the_warning_to_the_owner(settings, tmp_path):
    from vestibule.config import PROFILES_DIR

    text = (PROFILES_DIR / "community.toml").read_text()
    custom = tmp_path / "quiet.toml"
    custom.write_text(
        text.replace("notify_existing_by_email = true", "notify_existing_by_email = false")
    )
    settings.VESTIBULE_PROFILE = str(custom)
    make_account(email="camille@example.org")
    browser = Client()
    start(browser, "registration")
    password = "nouveau-passe-9"
    response = answer(
        browser,
        "registration",
        email="camille@example.org",
        password=password,
        password_confirm=password,
    )
    assert response.status_code == 302
    assert not Message.objects.filter(template="already_registered").exists()
