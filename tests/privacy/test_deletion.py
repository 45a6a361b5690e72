"""A member's own deletion request (Law 25 s. 28, GDPR art. 17): the password again, every
session ended, an e-mail with the date and how to cancel; signing in within the grace
period cancels it; after it, the account is deleted and its e-mail is free again."""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

import vestibule
from tests.concurrency import at_once
from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.models import Account
from vestibule.accounts.services import account_register
from vestibule.audit.models import Event
from vestibule.establishments.models import Establishment, Membership
from vestibule.privacy.services import account_deletion_request, deletions_due
from vestibule.registry.models import Member
from vestibule.scheduling import jobs

pytestmark = pytest.mark.django_db
GRACE = 14  # the default profile's deletion_grace_days


def sign_in(client: Client, identifier: str = "marie@example.org", password: str = PASSWORD):
    return client.post("/login/", {"identifier": identifier, "password": password})


def ask(client: Client, password: str = PASSWORD):
    return client.post("/account/privacy/delete/", {"password": password})


@pytest.fixture
def marie():
    member = make_member(code="111111", email="marie@example.org")
    return make_account(email="marie@example.org", code="111111", member=member)


@pytest.fixture
def signed_in(client, marie):
    assert sign_in(client).status_code == 302
    return client


def requested_days_ago(account: Account, days: float) -> None:
    Account.objects.filter(pk=account.pk).update(
        deletion_requested_at=timezone.now() - timedelta(days=days)
    )


@pytest.mark.django_db(transaction=True)
def test_a_request_ends_every_session_and_mails_the_date_and_how_to_cancel(signed_in, marie, inbox):
    other = Client()
    sign_in(other)
    assert other.get("/portal/").status_code == 200

    response = ask(signed_in)
    assert response.status_code == 302
    assert response["Location"] == "/"
    marie.refresh_from_db()
    assert marie.deletion_requested_at is not None
    due = timezone.localtime(marie.deletion_requested_at + timedelta(days=GRACE))

    # This browser and the other are signed out.
    assert signed_in.get("/portal/").status_code == 302
    assert other.get("/portal/").status_code == 302
    page = signed_in.get("/").content.decode()
    assert "Votre compte sera supprimé le" in page

    text = inbox.text(inbox.wait_for("marie@example.org")[0])
    assert f"{due.day} " in text and str(due.year) in text
    assert "supprimé le" in text
    assert "/login/" in text
    assert "connectez-vous" in text.lower()

    event = Event.objects.get(kind="account.deletion_requested", account=marie)
    assert event.data["by"] == "marie@example.org"
    assert datetime.fromisoformat(event.data["due"]) == due


@pytest.mark.django_db(transaction=True)
def test_the_email_is_in_the_members_language(client, inbox):
    make_account(email="john@example.org", language="en")
    sign_in(client, "john@example.org")
    ask(client)
    message = inbox.wait_for("john@example.org")[0]
    assert message["Subject"].strip().startswith("Your account will be deleted · ")
    assert "To cancel, sign in before that date" in inbox.text(message)


@pytest.mark.parametrize(
    ("language", "password", "message"),
    [
        ("fr", "", "Ce champ est obligatoire."),
        ("en", "", "This field is required."),
        ("fr", "wrong", "Ce n'est pas votre mot de passe actuel."),
        ("en", "wrong", "This is not your current password."),
    ],
)
def test_password_errors_are_on_the_field(signed_in, marie, language, password, message):
    signed_in.cookies["vestibule_language"] = language
    response = ask(signed_in, password)
    assert response.status_code == 200
    assert response.context["form"].errors["password"] == [message]
    label = "Mot de passe" if language == "fr" else "Password"
    assert f'<label for="id_password">{label}</label>' in response.content.decode()
    marie.refresh_from_db()
    assert marie.deletion_requested_at is None
    assert signed_in.get("/portal/").status_code == 200


def test_wrong_passwords_count_toward_the_lockout(signed_in, marie):
    for _ in range(4):
        ask(signed_in, "wrong")
    response = ask(signed_in, "wrong")
    assert response["Location"] == "/login/"
    marie.refresh_from_db()
    assert marie.locked_at is not None
    assert marie.deletion_requested_at is None


def test_the_request_is_a_post_of_a_signed_in_member(client, marie):
    assert client.post("/account/privacy/delete/", {"password": PASSWORD}).status_code == 302
    sign_in(client)
    assert client.get("/account/privacy/delete/").status_code == 405
    marie.refresh_from_db()
    assert marie.deletion_requested_at is None


def test_signing_in_within_the_grace_period_cancels_the_deletion(signed_in, marie):
    ask(signed_in)
    requested_days_ago(marie, GRACE - 1)
    response = sign_in(signed_in)
    assert response.status_code == 302
    page = signed_in.get(response["Location"]).content.decode()
    assert "La suppression de votre compte" in page and "est annulée" in page
    marie.refresh_from_db()
    assert marie.deletion_requested_at is None
    assert Event.objects.filter(kind="account.deletion_cancelled", account=marie).count() == 1

    requested_days_ago(marie, 0)
    Account.objects.filter(pk=marie.pk).update(deletion_requested_at=None)
    assert deletions_due() == 0
    assert Account.objects.filter(pk=marie.pk).exists()


def test_the_cancel_message_in_english(english_client, marie):
    english_client.post("/login/", {"identifier": marie.email, "password": PASSWORD})
    ask(english_client)
    response = english_client.post("/login/", {"identifier": marie.email, "password": PASSWORD})
    page = english_client.get(response["Location"]).content.decode()
    assert "is cancelled: you signed in" in page


def test_a_wrong_password_at_sign_in_cancels_nothing(client, marie):
    account_deletion_request(account=marie)
    sign_in(client, password="wrong password")
    marie.refresh_from_db()
    assert marie.deletion_requested_at is not None


def test_the_account_is_deleted_after_the_grace_period_and_its_email_is_free_again(
    signed_in, marie, inbox
):
    ask(signed_in)
    requested_days_ago(marie, GRACE - 0.01)
    assert deletions_due() == 0
    requested_days_ago(marie, GRACE + 0.01)
    assert deletions_due() == 1
    assert not Account.objects.filter(pk=marie.pk).exists()
    assert deletions_due() == 0

    # The registry record is the organisation's: it stays.
    assert Member.objects.filter(code="111111").exists()
    deleted = Event.objects.get(kind="account.deleted")
    assert deleted.data == {"by": "operator", "reason": "member request"}
    assert not Event.objects.filter(subject="marie@example.org").exists()
    assert sign_in(Client()).status_code == 200  # no such account now

    # The address signs up again.
    registration = account_register(
        email="marie@example.org",
        password="une toute nouvelle phrase",
        language="fr",
        code="111111",
    )
    assert registration.outcome == "created"
    assert registration.account.pk != marie.pk


def test_the_job_is_declared_hourly():
    job = next(job for job in jobs() if job.name == "deletions_due")
    assert job.callable() is deletions_due
    assert job.every == 3600


def test_the_grace_period_comes_from_the_profile(marie, settings, tmp_path):
    profile = (Path(vestibule.__file__).parent / "profiles" / "default.toml").read_text()
    assert "deletion_grace_days = 14" in profile
    path = tmp_path / "short.toml"
    path.write_text(profile.replace("deletion_grace_days = 14", "deletion_grace_days = 2"))
    settings.VESTIBULE_PROFILE = str(path)
    account_deletion_request(account=marie)
    requested_days_ago(marie, 1.9)
    assert deletions_due() == 0
    requested_days_ago(marie, 2.1)
    assert deletions_due() == 1


@pytest.fixture
def extranet(use_profile):
    use_profile("extranet")
    hotel = Establishment.objects.create(name="Hôtel du Port", public_id="H001")
    owner = make_account(email="owner@example.org", kind="user")
    Membership.objects.create(account=owner, establishment=hotel, rights=["users"], is_owner=True)
    return hotel, owner


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This account is the last administrator of an establishment"),
        ("fr", "Ce compte est le dernier administrateur"),
    ],
)
def test_the_last_administrator_is_told_at_once(client, extranet, language, message):
    _hotel, owner = extranet
    client.cookies["vestibule_language"] = language
    sign_in(client, "owner@example.org")
    response = ask(client)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].non_field_errors())
    owner.refresh_from_db()
    assert owner.deletion_requested_at is None


def test_a_refusal_at_deletion_time_withdraws_the_request(extranet):
    hotel, owner = extranet
    colleague = make_account(email="colleague@example.org", kind="user")
    membership = Membership.objects.create(account=colleague, establishment=hotel, rights=["users"])
    account_deletion_request(account=owner)
    membership.delete()  # the other administrator left meanwhile
    requested_days_ago(owner, GRACE + 1)
    assert deletions_due() == 0
    owner.refresh_from_db()
    assert owner.deletion_requested_at is None
    assert Event.objects.get(kind="account.deletion_refused").data == {
        "by": "operator",
        "code": "last_administrator",
    }
    assert deletions_due() == 0


@pytest.mark.django_db(transaction=True)
def test_a_sign_in_racing_the_job_either_cancels_or_finds_the_account_gone():
    member = make_member(code="111111", email="marie@example.org")
    marie = make_account(email="marie@example.org", code="111111", member=member)
    account_deletion_request(account=marie)
    requested_days_ago(marie, GRACE + 1)
    client = Client()
    deleted, _signed_in = at_once(deletions_due, lambda: sign_in(client))
    exists = Account.objects.filter(pk=marie.pk).first()
    if deleted == 1:
        assert exists is None
        assert not Event.objects.filter(kind="account.deletion_cancelled").exists()
    else:
        assert exists is not None and exists.deletion_requested_at is None
