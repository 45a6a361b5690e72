"""Issue 12, item 6: one password policy in the domain, applied by every service that sets one.

Sign-up, activation (test_sign_up_takeover.py), invitation acceptance, change, reset and
`createsuperuser --noinput`: each refuses a password built on the e-mail, a code, a name or
the organisation's name, as well as short and common ones, even when no form checked it.
"""

import re

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import translation

from tests.establishments.helpers import ALL, hotel, invitation_link, member_of
from tests.factories import make_account, make_member
from tests.flows.walk import answer, start
from vestibule.accounts.models import Account
from vestibule.accounts.password_policy import password_check
from vestibule.accounts.services import account_register, account_set_password
from vestibule.establishments.invitations import invitation_accept, invitation_send
from vestibule.establishments.models import Invitation

pytestmark = pytest.mark.django_db

CONTEXT = "too close to your e-mail address"
CONTEXT_FR = "trop proche de votre adresse courriel"


def reasons(password: str, language: str = "en", **context) -> list[str]:
    with translation.override(language):
        try:
            password_check(password, **context)
        except ValidationError as refused:
            return refused.messages
    return []


@pytest.mark.parametrize(
    ("password", "context"),
    [
        ("marie.tremblay@example.org", {"email": "marie.tremblay@example.org"}),
        ("Marie.Tremblay", {"email": "marie.tremblay@example.org"}),
        ("Tremblay 2024!", {"email": "marie.tremblay@example.org"}),
        ("54321 54321", {"codes": ["54321"]}),
        ("Évelyne-2024", {"names": ["Évelyne", "Lévesque"]}),
        ("levesque evelyne", {"names": ["Évelyne", "Lévesque"]}),
        ("Médecins 2024", {}),  # physicians: « Collège des médecins (démo) »
        ("college des medecins", {}),
    ],
)
def test_a_password_built_on_a_context_word_is_refused(use_profile, password, context):
    use_profile("physicians")  # minimum 8
    assert any(CONTEXT in reason for reason in reasons(password, **context))
    assert any(CONTEXT_FR in reason for reason in reasons(password, "fr", **context))


@pytest.mark.parametrize(
    "password",
    [
        "tremblay aime les longues promenades",  # the word, and enough of its own
        "une phrase de passe",
        "correct horse battery staple",
    ],
)
def test_a_password_with_enough_of_its_own_is_accepted(use_profile, password):
    use_profile("physicians")
    assert reasons(password, email="marie.tremblay@example.org", names=["Marie"]) == []


def test_every_reason_is_given_at_once_in_both_languages(use_profile):
    use_profile("default")  # minimum 15
    english = reasons("password")
    french = reasons("password", "fr")
    assert any("at least 15 characters" in r for r in english)
    assert any("too common" in r for r in english)
    assert any("minimum de 15 caractères" in r for r in french)
    assert any("trop courant" in r for r in french)
    assert any("at most 128" in r for r in reasons("x" * 129))


# --- Each service applies it, whatever the form did ---------------------------------------


def test_sign_up_refuses_the_member_s_own_name_which_only_the_registry_knows(use_profile):
    use_profile("dentists")
    make_member(kind="dentist", code="12345", email="dr.lavoie@example.org", first_name="Sophie")
    for language, message in [("fr", CONTEXT_FR), ("en", CONTEXT)]:
        browser = Client()
        browser.cookies["vestibule_language"] = language
        start(browser, "registration")
        response = answer(
            browser,
            "registration",
            is_member="on",
            email="dr.lavoie@example.org",
            code="12345",
            password="Sophie 2024",
            password_confirm="Sophie 2024",
        )
        assert response.status_code == 200
        errors = response.context["form"].errors["password"]
        assert any(message in error for error in errors), errors
    assert not Account.objects.exists()


@pytest.mark.parametrize(
    ("password", "language", "message"),
    [
        ("dr.lavoie@example.org", "fr", CONTEXT_FR),
        ("dr.lavoie@example.org", "en", CONTEXT),
        ("12345 !!!", "fr", CONTEXT_FR),  # the licence
        ("12345 !!!", "en", CONTEXT),
    ],
)
def test_sign_up_refuses_the_e_mail_and_the_licence(use_profile, password, language, message):
    use_profile("dentists")
    make_member(kind="dentist", code="12345", email="dr.lavoie@example.org")
    browser = Client()
    browser.cookies["vestibule_language"] = language
    start(browser, "registration")
    response = answer(
        browser,
        "registration",
        is_member="on",
        email="dr.lavoie@example.org",
        code="12345",
        password=password,
        password_confirm=password,
    )
    errors = response.context["form"].errors["password"]
    assert any(message in error for error in errors), errors
    assert not Account.objects.exists()


def test_the_sign_up_service_refuses_without_any_form(use_profile):
    use_profile("community")
    with pytest.raises(ValidationError):
        account_register(email="camille@example.org", password="Camille@example.org", language="fr")
    assert not Account.objects.exists()


def test_the_set_password_service_behind_change_and_reset_refuses_without_any_form(use_profile):
    use_profile("community")
    account = make_account(email="marie@example.org", code="123456")
    for weak in ["a", "marie@example.org", "123456 !", "Tremblay!!"]:
        with pytest.raises(ValidationError):
            account_set_password(account=account, password=weak, event="password.changed")
    account.refresh_from_db()
    assert account.check_password("a long enough passphrase")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("language", "message"), [("fr", CONTEXT_FR), ("en", CONTEXT)])
def test_a_reset_refuses_the_e_mail_and_leaves_the_link_unspent(
    use_profile, inbox, language, message
):
    use_profile("community")
    make_account(email="marie@example.org")
    browser = Client()
    browser.cookies["vestibule_language"] = language
    start(browser, "recovery")
    answer(browser, "recovery", identifier="marie@example.org")
    [mail] = inbox.wait_for("marie@example.org")
    link = re.search(r"(/flow/recovery/resume/[\w-]+/)", inbox.text(mail)).group(1)
    browser.get(link)
    refused = answer(
        browser, "recovery", password="marie@example.org", password_confirm="marie@example.org"
    )
    assert message in refused.content.decode()
    saved = answer(
        browser,
        "recovery",
        password="une phrase bien à moi",
        password_confirm="une phrase bien à moi",
    )
    assert saved.status_code == 302
    assert Account.objects.get().check_password("une phrase bien à moi")


@pytest.mark.parametrize(("language", "message"), [("fr", CONTEXT_FR), ("en", CONTEXT)])
def test_an_invited_user_cannot_take_their_name_and_the_invitation_stays_open(
    use_profile, language, message
):
    use_profile("extranet")
    place = hotel()
    admin = member_of(place, "admin@hotel.example", ALL).account
    invitation = invitation_send(
        establishment=place,
        email="lea@hotel.example",
        rights=["reservations"],
        inviter=admin,
        first_name="Léa",
        last_name="Tremblay",
    )
    link = invitation_link("lea@hotel.example")
    guest = Client()
    guest.cookies["vestibule_language"] = language
    assert guest.get(link)["Location"] == "/establishments/invitation/"
    refused = guest.post(
        "/establishments/invitation/",
        {"password": "Tremblay 2024", "password_confirm": "Tremblay 2024"},
    )
    assert refused.status_code == 200
    assert message in refused.content.decode()
    assert Invitation.objects.get(pk=invitation.pk).state == Invitation.State.PENDING
    with pytest.raises(ValidationError):  # the service itself, without the form
        invitation_accept(key=link.rstrip("/").rsplit("/", 1)[-1], password="lea@hotel.example")
    accepted = guest.post(
        "/establishments/invitation/",
        {"password": "chambre avec vue", "password_confirm": "chambre avec vue"},
    )
    assert accepted["Location"] == "/login/"


def test_createsuperuser_noinput_refuses_a_weak_password(monkeypatch, use_profile):
    use_profile("default")
    for weak in ["a", "boss@example.org", "Boss@Example.org 2024"]:
        monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", weak)
        with pytest.raises(CommandError):
            call_command("createsuperuser", "--noinput", "--email", "boss@example.org")
    assert not Account.objects.exists()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a staff passphrase long enough")
    call_command("createsuperuser", "--noinput", "--email", "boss@example.org")
    assert Account.objects.get().is_superuser


def test_createsuperuser_says_why_in_english_and_the_manager_in_french(monkeypatch, use_profile):
    use_profile("default")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a")
    with pytest.raises(CommandError, match="at least 15 characters"):
        call_command("createsuperuser", "--noinput", "--email", "boss@example.org")
    with translation.override("fr"), pytest.raises(ValidationError) as refused:
        Account.objects.create_superuser("boss@example.org", "a")
    assert any("minimum de 15 caractères" in m for m in refused.value.messages)
