"""Changing the login e-mail: asked by the member (password again) or staff, confirmed only
from the link sent to the new address; the old address is told afterwards."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone, translation

from tests.concurrency import at_once
from tests.factories import PASSWORD, make_account
from vestibule.accounts.email_change import (
    EmailChangeRefused,
    email_change_confirm,
    email_change_request,
)
from vestibule.accounts.models import Account
from vestibule.accounts.services import account_set_password
from vestibule.audit.models import Event
from vestibule.config import get_profile
from vestibule.notifications.models import Message
from vestibule.notifications.sealing import body_unseal
from vestibule.tokens.models import Token
from vestibule.tokens.services import token_issue

pytestmark = pytest.mark.django_db
OLD = "marie@example.org"
NEW = "marie.new@example.org"
LINK = re.compile(r"/account/email/confirm/([\w-]+)/")


def sign_in(client: Client, identifier: str = OLD, password: str = PASSWORD):
    return client.post("/login/", {"identifier": identifier, "password": password})


def ask(client: Client, new: str = NEW, password: str = PASSWORD):
    return client.post("/account/email/", {"new_email": new, "current_password": password})


def link_key(to: str = NEW) -> str:
    message = Message.objects.filter(to=to, template="email_change_link").latest("pk")
    return LINK.search(body_unseal(message.sealed_text)).group(1)


def confirm(client: Client, key: str):
    opened = client.get(f"/account/email/confirm/{key}/")
    assert opened["Location"] == "/account/email/confirm/"
    return client.post("/account/email/confirm/")


@pytest.fixture
def member(client):
    account = make_account()
    sign_in(client)
    return account


@pytest.mark.django_db(transaction=True)
def test_the_new_address_confirms_and_the_old_one_is_told_with_the_support_contact(inbox):
    account = make_account()
    client = Client()
    sign_in(client)
    page = client.get("/account/email/").content.decode()
    assert "Adresse courriel de connexion" in page and "Nouvelle adresse courriel" in page
    response = ask(client)
    assert response["Location"] == "/account/"
    assert NEW in client.get("/account/").content.decode()  # the message names it
    [mail] = inbox.wait_for(NEW)
    key = LINK.search(inbox.text(mail)).group(1)
    account.refresh_from_db()
    assert account.email == OLD  # nothing changes before the link is opened
    # The key leaves the URL at once; the page it leads to changes nothing either.
    assert client.get(f"/account/email/confirm/{key}/")["Location"] == "/account/email/confirm/"
    assert NEW in client.get("/account/email/confirm/").content.decode()
    account.refresh_from_db()
    assert account.email == OLD
    assert client.post("/account/email/confirm/")["Location"] == "/account/"
    account.refresh_from_db()
    assert account.email == NEW
    [notice] = inbox.wait_for(OLD)
    text = inbox.text(notice)
    assert NEW in text and get_profile().organisation.support.email in text
    assert not LINK.search(text)  # the old address never gets a link
    assert [m["To"] for m in inbox.messages].count(OLD) == 1
    # The new address is the login; the old one opens nothing.
    assert sign_in(Client(), OLD).status_code == 200
    assert sign_in(Client(), NEW).status_code == 302
    kinds = list(Event.objects.filter(account=account).values_list("kind", flat=True))
    assert "email_change.requested" in kinds and "email_change.confirmed" in kinds
    confirmed = Event.objects.get(kind="email_change.confirmed")
    assert confirmed.data["old_email"] == OLD and confirmed.data["email"] == NEW


def test_signing_in_with_the_new_address_works_after_the_change(client, member):
    ask(client)
    confirm(client, link_key())
    response = sign_in(Client(), NEW)
    assert response.status_code == 302
    old = sign_in(Client(), OLD)
    assert old.status_code == 200  # the sign-in page again, with its error


def test_the_old_address_gets_no_link_only_the_notice_after_confirmation(client, member):
    ask(client)
    assert not Message.objects.filter(to=OLD).exists()
    confirm(client, link_key())
    [notice] = Message.objects.filter(to=OLD)
    assert notice.template == "email_changed"
    assert not LINK.search(body_unseal(notice.sealed_text))


def test_a_link_asked_for_by_the_member_needs_their_session_to_confirm(client, member):
    ask(client)
    key = link_key()
    stranger = Client()  # whoever reads the new inbox, e.g. the owner of a mistyped address
    response = confirm(stranger, key)
    assert response["Location"] == "/login/?next=/account/email/confirm/"
    member.refresh_from_db()
    assert member.email == OLD
    # The member signs in (in that browser) and confirms there: the key kept in the session.
    assert sign_in(stranger).status_code == 302
    assert stranger.post("/account/email/confirm/")["Location"] == "/account/"
    member.refresh_from_db()
    assert member.email == NEW


def test_a_link_sent_by_staff_confirms_without_a_session():
    account = make_account()
    staff = make_account(email="staff@example.org", is_staff=True)
    email_change_request(account=account, new_email=NEW, actor=staff)
    response = confirm(Client(), link_key())
    assert response["Location"] == "/login/"
    account.refresh_from_db()
    assert account.email == NEW
    event = Event.objects.get(kind="email_change.requested")
    assert event.data["by"] == "staff@example.org"


def test_the_operator_is_named_in_the_log():
    account = make_account()
    email_change_request(account=account, new_email=NEW, actor=None)
    assert Event.objects.get(kind="email_change.requested").data["by"] == "operator"


def test_an_expired_link_is_refused(client, member):
    ask(client)
    key = link_key()
    Token.objects.filter(purpose=Token.Purpose.EMAIL_CHANGE).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = confirm(client, key)
    assert response.status_code == 410
    assert "Ce lien a expiré" in response.content.decode()
    member.refresh_from_db()
    assert member.email == OLD


def test_the_link_lasts_the_profiles_hours(client, member):
    ask(client)
    token = Token.objects.get(purpose=Token.Purpose.EMAIL_CHANGE)
    hours = get_profile().accounts.email_change_link_hours
    assert abs((token.expires_at - token.created_at) - timedelta(hours=hours)) < timedelta(
        seconds=1
    )


def test_a_reused_link_is_refused(client, member):
    ask(client)
    key = link_key()
    confirm(client, key)
    again = confirm(client, key)
    assert again.status_code == 410
    assert "Ce lien a déjà été utilisé." in again.content.decode()


def test_a_password_change_ends_a_pending_link(client, member):
    # Whoever asked for the change may be someone who knew the old password.
    ask(client)
    key = link_key()
    account_set_password(
        account=member, password="un-tout-autre-mot-de-passe", event="password.changed"
    )
    client.force_login(member)
    refused = confirm(client, key)
    assert refused.status_code == 410
    member.refresh_from_db()
    assert member.email == OLD


def test_an_unknown_link_is_refused(client, member):
    response = confirm(client, "not-a-key")
    assert response.status_code == 404
    assert client.post("/account/email/confirm/").status_code == 404  # no key in the session


def test_a_new_request_ends_the_earlier_link(client, member):
    ask(client)
    first = link_key()
    ask(client, new="marie.third@example.org")
    assert confirm(client, first).status_code == 410
    confirm(client, link_key("marie.third@example.org"))
    member.refresh_from_db()
    assert member.email == "marie.third@example.org"


def test_an_address_taken_meanwhile_is_refused_cleanly(client, member):
    ask(client)
    key = link_key()
    make_account(email="Marie.New@example.org", first_name="Other")
    response = confirm(client, key)
    assert response.status_code == 409
    assert "Un autre compte a pris cette adresse courriel" in response.content.decode()
    member.refresh_from_db()
    assert member.email == OLD
    assert not Message.objects.filter(to=OLD).exists()
    assert not Event.objects.filter(kind="email_change.confirmed").exists()


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_at_once_change_the_address_once():
    account = make_account()
    email_change_request(account=account, new_email=NEW, actor=None)
    key = link_key()
    results = at_once(lambda: email_change_confirm(key=key), lambda: email_change_confirm(key=key))
    assert sum(isinstance(result, Account) for result in results) == 1
    assert [r.code for r in results if isinstance(r, EmailChangeRefused)] == ["link_used"]
    assert Message.objects.filter(to=OLD, template="email_changed").count() == 1


def test_a_disabled_account_cannot_confirm():
    account = make_account()
    email_change_request(account=account, new_email=NEW, actor=None)
    Account.objects.filter(pk=account.pk).update(status=Account.Status.DISABLED)
    response = confirm(Client(), link_key())
    assert response.status_code == 409
    account.refresh_from_db()
    assert account.email == OLD


def test_confirming_ends_the_links_sent_to_the_old_address(client, member):
    _key, reset = token_issue(
        purpose=Token.Purpose.RECOVERY, lifetime=timedelta(hours=1), account=member
    )
    ask(client)
    confirm(client, link_key())
    reset.refresh_from_db()
    assert reset.used_at is not None


def test_a_wrong_password_counts_toward_the_lockout(client, member):
    for _ in range(4):
        response = ask(client, password="wrong")
        assert response.status_code == 200
    response = ask(client, password="wrong")
    assert response["Location"] == "/login/"
    member.refresh_from_db()
    assert member.locked_at is not None
    assert not Token.objects.filter(purpose=Token.Purpose.EMAIL_CHANGE).exists()


def test_the_member_is_not_told_the_address_is_taken_its_owner_is(client, member):
    owner = make_account(email="taken@example.org", first_name="Owner", language="en")
    response = ask(client, new="TAKEN@example.org")
    assert response["Location"] == "/account/"  # the same answer as for a free address
    assert not Token.objects.filter(purpose=Token.Purpose.EMAIL_CHANGE).exists()
    [notice] = Message.objects.filter(to=owner.email)
    assert notice.template == "email_change_taken"
    assert not LINK.search(body_unseal(notice.sealed_text))
    member.refresh_from_db()
    assert member.email == OLD


def test_staff_are_told_plainly_the_address_is_taken():
    account = make_account()
    make_account(email="taken@example.org")
    staff = make_account(email="staff@example.org", is_staff=True)
    with pytest.raises(EmailChangeRefused) as refused:
        email_change_request(account=account, new_email="taken@example.org", actor=staff)
    assert refused.value.code == "email_taken"
    with translation.override("en"):
        assert refused.value.message == "Another account already uses this e-mail address."
    with translation.override("fr"):
        assert refused.value.message == "Un autre compte utilise déjà cette adresse courriel."
    assert not Token.objects.filter(purpose=Token.Purpose.EMAIL_CHANGE).exists()
    assert not Message.objects.exists()
    assert not Event.objects.filter(kind="email_change.requested").exists()


@pytest.mark.parametrize(
    ("new", "code"),
    [
        ("marie@example.org", "email_same"),
        ("MARIE@example.org ", "email_same"),
        ("x@", "email_invalid"),
    ],
)
def test_staff_refusals_say_why(new, code):
    account = make_account()
    with pytest.raises(EmailChangeRefused) as refused:
        email_change_request(account=account, new_email=new, actor=None)
    assert refused.value.code == code
    assert not Token.objects.exists()


def test_staff_who_are_not_superusers_cannot_change_a_staff_accounts_address():
    colleague = make_account(email="colleague@example.org", is_staff=True)
    staff = make_account(email="staff@example.org", is_staff=True)
    with pytest.raises(EmailChangeRefused) as refused:
        email_change_request(account=colleague, new_email=NEW, actor=staff)
    assert refused.value.code == "staff_needs_superuser"
    superuser = make_account(email="root@example.org", is_staff=True, is_superuser=True)
    email_change_request(account=colleague, new_email=NEW, actor=superuser)
    assert Token.objects.filter(account=colleague).exists()


def test_a_disabled_account_is_refused_at_the_request():
    account = make_account(status=Account.Status.DISABLED)
    with pytest.raises(EmailChangeRefused) as refused:
        email_change_request(account=account, new_email=NEW, actor=None)
    assert refused.value.code == "disabled"


def test_extranet_has_no_email_change_page(client, member, use_profile):
    use_profile("extranet")
    assert client.get("/account/email/").status_code == 404
    assert ask(client).status_code == 404
    assert "/account/email/" not in client.get("/account/").content.decode()


def test_the_account_page_links_to_the_page_sessions_and_privacy(client, member):
    page = client.get("/account/").content.decode()
    for link, text in [
        ('href="/account/email/"', "Adresse courriel de connexion"),
        ('href="/account/sessions/"', "Sessions actives"),
        ('href="/account/privacy/"', "Mes données personnelles"),
    ]:
        assert link in page and text in page


def test_the_page_speaks_english(english_client):
    make_account()
    sign_in(english_client)
    page = english_client.get("/account/email/").content.decode()
    assert "Sign-in e-mail address" in page and "New e-mail address" in page


def test_too_many_requests_are_refused(client, member):
    for n in range(5):
        assert ask(client, new=f"marie{n}@example.org")["Location"] == "/account/"
    response = ask(client, new="marie9@example.org")
    assert response.status_code == 200
    assert Message.objects.filter(template="email_change_link").count() == 5


@pytest.mark.parametrize(
    ("language", "data", "field", "message"),
    [
        ("fr", {"new": ""}, "new_email", "Ce champ est obligatoire."),
        ("en", {"new": ""}, "new_email", "This field is required."),
        ("fr", {"new": "marie@"}, "new_email", "Cette adresse courriel est invalide."),
        ("en", {"new": "marie@"}, "new_email", "This e-mail address is invalid."),
        ("fr", {"new": OLD}, "new_email", "C'est déjà l'adresse courriel du compte."),
        ("en", {"new": OLD}, "new_email", "This is already the account's e-mail address."),
        ("fr", {"password": ""}, "current_password", "Ce champ est obligatoire."),
        ("en", {"password": ""}, "current_password", "This field is required."),
        ("fr", {"password": "wrong"}, "current_password", "n'est pas votre mot de passe actuel"),
        ("en", {"password": "wrong"}, "current_password", "This is not your current password."),
    ],
)
def test_errors_are_tied_to_their_fields(client, member, language, data, field, message):
    client.cookies["vestibule_language"] = language
    response = ask(client, **data)
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    assert not Token.objects.filter(purpose=Token.Purpose.EMAIL_CHANGE).exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Trop de changements d'adresse courriel demandés"),
        ("en", "Too many e-mail address changes asked for"),
    ],
)
def test_too_many_requests_error_in_both_languages(client, member, language, message):
    client.cookies["vestibule_language"] = language
    for n in range(5):
        ask(client, new=f"marie{n}@example.org")
    response = ask(client, new="marie9@example.org")
    assert any(message in error for error in response.context["form"].errors["new_email"])
