"""Issue 14: the staff console finds an account and shows, on one page, what support needs
(status, lock, sign-ins, sessions, memberships, coverage, audit trail) and the actions."""

import json
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from tests.factories import make_account, make_member
from vestibule.accounts.models import Account, SessionRecord
from vestibule.audit.models import Event
from vestibule.audit.services import event_record
from vestibule.coverage.models import CoverageRecord
from vestibule.establishments.models import Establishment, Membership
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def chief() -> Account:
    return make_account(
        email="chef@example.org",
        first_name="Jo",
        last_name="Chef",
        is_staff=True,
        is_superuser=True,
    )


@pytest.fixture
def staff_client(chief: Account) -> Client:
    client = Client()
    client.force_login(chief)
    return client


@pytest.fixture
def english(staff_client: Client) -> Client:
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return staff_client


@pytest.fixture
def marie() -> Account:
    account = make_account(email="marie@example.org", code="R12345")
    hotel = Establishment.objects.create(name="Hôtel du Port", public_id="H001")
    Membership.objects.create(account=account, establishment=hotel, rights=["users"])
    return account


def page_of(client: Client, account: Account) -> str:
    response = client.get(f"/admin/accounts/account/{account.pk}/support/")
    assert response.status_code == 200
    return response.content.decode()


def section(page: str, testid: str) -> str:
    """The HTML of the page's `data-testid` block, up to the next one."""
    start = page.index(f'data-testid="{testid}"')
    following = re.search(r'<div class="module[^"]*" data-testid=', page[start + 1 :])
    return page[start : start + 1 + following.start()] if following else page[start:]


def found(client: Client, query: str) -> list[str]:
    response = client.get("/admin/accounts/account/", {"q": query})
    assert response.status_code == 200
    return re.findall(r'href="/admin/accounts/account/(\d+)/change/', response.content.decode())


@pytest.mark.parametrize(
    "query",
    ["MARIE@example.org", "R12345", "Tremblay", "Marie Tremblay", "Hôtel du Port", "H001", "777"],
)
def test_staff_find_an_account_by_email_code_name_or_establishment(staff_client, marie, query):
    make_account(email="autre@example.org", first_name="Paul", last_name="Roy")
    marie.member = make_member(code="777", email="marie.registre@example.org")  # its licence
    marie.save(update_fields=["member"])
    assert found(staff_client, query) == [str(marie.pk)]


def test_the_support_page_shows_the_account_and_its_life(staff_client, marie):
    Account.objects.filter(pk=marie.pk).update(
        status=Account.Status.DISABLED,
        disabled_at=timezone.now(),
        disabled_reason="Fraude signalée",
        disabled_cause=Account.DisabledCause.STAFF,
        locked_at=timezone.now() - timedelta(minutes=1),
    )
    Event.objects.create(
        kind="sign_in.succeeded", account=marie, ip_address="203.0.113.7", user_agent="Firefox/140"
    )
    SessionRecord.objects.create(
        account=marie,
        key_digest="d" * 64,
        sealed_key="x",
        user_agent="Safari/18",
        ip_address="198.51.100.4",
    )
    CoverageRecord.objects.create(
        region="QC", plan="Régime 42", first_name="Marie", last_name="Tremblay", account=marie
    )
    event_record("account.privileges_changed", account=marie, field="is_staff")
    other = make_account(email="autre@example.org")
    event_record("sign_in.succeeded", account=other)
    event_record("password.changed", account=other)

    page = page_of(staff_client, marie)

    assert "Désactivé" in section(page, "account") or "désactivé" in section(page, "account")
    assert "Fraude signalée" in section(page, "account")
    assert "depuis" in section(page, "account")  # locked
    assert "203.0.113.7" in section(page, "sign-ins")
    assert "Firefox/140" in section(page, "sign-ins")
    assert "Safari/18" in section(page, "sessions") and "198.51.100.4" in section(page, "sessions")
    assert "Hôtel du Port" in section(page, "memberships")
    assert "Régime 42" in section(page, "coverage")
    audit = section(page, "audit")
    assert "account.privileges_changed" in audit and "sign_in.succeeded" in audit
    assert "password.changed" not in audit  # another account's


def test_the_change_page_leads_to_the_support_page(staff_client, marie):
    page = staff_client.get(f"/admin/accounts/account/{marie.pk}/change/").content.decode()
    assert f'href="/admin/accounts/account/{marie.pk}/support/"' in page


def test_the_console_never_offers_to_set_a_password(staff_client, marie):
    # ASVS 6.4.6: staff send a reset or activation link, never choose a password.
    for path in ("support/", "change/"):
        page = staff_client.get(f"/admin/accounts/account/{marie.pk}/{path}").content.decode()
        assert 'type="password"' not in page
        assert "/password/" not in page
    assert staff_client.get(f"/admin/accounts/account/{marie.pk}/password/").status_code in (
        302,
        404,
    )


def test_buttons_shown_are_those_the_staff_member_may_use(marie):
    clerk = make_account(email="commis@example.org", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="end_account_sessions"))
    client = Client()
    client.force_login(clerk)
    actions = section(page_of(client, marie), "actions")
    assert 'data-testid="end-sessions"' in actions
    for hidden in ("disable", "change-email", "send-reset", "export", "delete", "unlock"):
        assert f'data-testid="{hidden}"' not in actions


def test_the_page_is_refused_to_staff_without_any_account_permission(marie):
    clerk = make_account(email="commis@example.org", is_staff=True)
    client = Client()
    client.force_login(clerk)
    assert client.get(f"/admin/accounts/account/{marie.pk}/support/").status_code == 403


def test_the_page_is_refused_to_a_member_and_to_no_one(marie):
    member = Client()
    member.force_login(make_account(email="membre@example.org"))
    for client in (member, Client()):
        response = client.get(f"/admin/accounts/account/{marie.pk}/support/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_an_unknown_account_has_no_page(staff_client):
    assert staff_client.get("/admin/accounts/account/999999/support/").status_code == 404


def test_ending_sessions_says_so_in_english(english, marie):
    response = english.post(
        f"/admin/accounts/account/{marie.pk}/support/end-sessions/", follow=True
    )
    assert "Every session of this account has ended." in response.content.decode()


def test_ending_sessions_says_so_in_french(staff_client, marie):
    response = staff_client.post(
        f"/admin/accounts/account/{marie.pk}/support/end-sessions/", follow=True
    )
    assert "Toutes les sessions de ce compte ont pris fin." in response.content.decode()


def action(client: Client, account: Account, name: str, data: dict | None = None, **kwargs):
    return client.post(
        f"/admin/accounts/account/{account.pk}/support/{name}/", data or {}, **kwargs
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


@pytest.mark.parametrize(
    ("language", "error"), [("fr", "Ce champ est obligatoire."), ("en", "This field is required.")]
)
def test_disabling_without_a_reason_asks_for_one(staff_client, marie, language, error):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = action(staff_client, marie, "disable", {"reason": "  "})
    assert response.status_code == 200
    assert error in section(response.content.decode(), "actions")
    marie.refresh_from_db()
    assert marie.status == Account.Status.ACTIVE
    assert not Event.objects.filter(kind="account.disabled").exists()


def test_disabling_ends_the_sessions_and_shows_the_reason(staff_client, chief, marie):
    response = action(staff_client, marie, "disable", {"reason": "Fraude signalée"}, follow=True)
    marie.refresh_from_db()
    assert marie.status == Account.Status.DISABLED
    assert marie.disabled_cause == Account.DisabledCause.STAFF
    assert marie.sessions_generation == 1
    page = response.content.decode()
    assert "Fraude signalée" in section(page, "account")
    assert 'data-testid="enable"' in section(page, "actions")
    event = Event.objects.get(kind="account.disabled")
    assert (event.account, event.data["by"], event.data["reason"]) == (
        marie,
        chief.email,
        "Fraude signalée",
    )


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Seul un superutilisateur"),
        ("en", "Only a superuser can do this to a staff account or a superuser."),
    ],
)
@pytest.mark.parametrize("name", ["disable", "delete"])
def test_a_staff_member_cannot_disable_or_delete_another_staff_account(name, language, message):
    target = make_account(email="collegue@example.org", is_staff=True)
    clerk = make_account(email="commis@example.org", is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(codename__in=["disable_account", "delete_account"])
    )
    client = Client()
    client.force_login(clerk)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    Event.objects.all().delete()
    response = action(client, target, name, {"reason": "Départ"}, follow=True)
    assert any(message in shown for shown in messages_of(response))
    target.refresh_from_db()
    assert target.status == Account.Status.ACTIVE and target.sessions_generation == 0
    assert not Event.objects.exists()


def test_a_superuser_may_disable_a_staff_account(staff_client):
    target = make_account(email="collegue@example.org", is_staff=True)
    action(staff_client, target, "disable", {"reason": "Départ"})
    target.refresh_from_db()
    assert target.status == Account.Status.DISABLED


def test_no_one_disables_their_own_account(staff_client, chief):
    make_account(email="second@example.org", is_staff=True, is_superuser=True)
    response = action(staff_client, chief, "disable", {"reason": "Essai"}, follow=True)
    assert messages_of(response)
    chief.refresh_from_db()
    assert chief.status == Account.Status.ACTIVE


def test_enabling_is_refused_while_the_registry_says_inactive(english, marie):
    marie.member = make_member(code="777", email="marie.registre@example.org", active=False)
    marie.status = Account.Status.DISABLED
    marie.disabled_cause = Account.DisabledCause.REGISTRY
    marie.save()
    response = action(english, marie, "enable", follow=True)
    assert any("registry lists this member as inactive" in m for m in messages_of(response))
    marie.refresh_from_db()
    assert marie.status == Account.Status.DISABLED


def test_deleting_asks_for_confirmation_first(staff_client, marie):
    page = staff_client.get(f"/admin/accounts/account/{marie.pk}/support/delete/")
    assert page.status_code == 200
    assert 'data-testid="confirm-delete"' in page.content.decode()
    assert Account.objects.filter(pk=marie.pk).exists()
    response = action(staff_client, marie, "delete", {"reason": "Demande écrite"}, follow=True)
    assert not Account.objects.filter(pk=marie.pk).exists()
    event = Event.objects.get(kind="account.deleted")
    assert event.subject.startswith("deleted-") and event.subject in messages_of(response)[0]
    assert not Event.objects.filter(subject="marie@example.org").exists()


def test_the_last_administrator_of_an_establishment_is_not_deleted(english, marie, use_profile):
    use_profile("extranet")
    response = action(english, marie, "delete", follow=True)
    assert any("last administrator" in m for m in messages_of(response))
    marie.refresh_from_db()
    assert marie.sessions_generation == 0
    assert not Event.objects.filter(kind__in=["account.deleted", "account.signed_out_everywhere"])


def test_export_is_a_json_download_of_the_account_alone(staff_client, chief, marie):
    make_account(email="autre@example.org")
    response = action(staff_client, marie, "export")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["account"]["email"] == "marie@example.org"
    assert "autre@example.org" not in response.content.decode()
    event = Event.objects.get(kind="account.exported")
    assert (event.account, event.data["by"]) == (marie, chief.email)


def test_a_reset_link_is_sent_to_the_account(staff_client, chief, marie):
    response = action(staff_client, marie, "send-reset", follow=True)
    assert Message.objects.filter(to="marie@example.org", template="password_reset").count() == 1
    assert any("marie@example.org" in m for m in messages_of(response))
    event = Event.objects.get(kind="recovery.link_sent")
    assert (event.account, event.data["by"]) == (marie, chief.email)


def test_the_activation_email_is_sent_again_to_a_pending_account(staff_client, marie):
    Account.objects.filter(pk=marie.pk).update(status=Account.Status.PENDING)
    page = page_of(staff_client, marie)
    assert 'data-testid="resend-activation"' in page and 'data-testid="send-reset"' not in page
    action(staff_client, marie, "resend-activation")
    assert Message.objects.filter(to="marie@example.org", template="activation").count() == 1


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "aucun lien de réinitialisation"),
        ("en", "This account is not active: no password reset link can be sent to it."),
    ],
)
def test_no_reset_link_for_an_account_not_active(staff_client, marie, language, message):
    Account.objects.filter(pk=marie.pk).update(status=Account.Status.PENDING)
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = action(staff_client, marie, "send-reset", follow=True)
    assert any(message in shown for shown in messages_of(response))
    assert not Message.objects.exists()
    assert not Event.objects.filter(kind="recovery.link_sent").exists()


def test_an_action_posted_without_the_csrf_token_is_refused(chief, marie):
    client = Client(enforce_csrf_checks=True)
    client.force_login(chief)
    response = action(client, marie, "disable", {"reason": "Fraude signalée"})
    assert response.status_code == 403
    marie.refresh_from_db()
    assert marie.status == Account.Status.ACTIVE


def test_changing_the_email_sends_a_link_to_the_new_address_only(staff_client, chief, marie):
    response = action(
        staff_client,
        marie,
        "change-email",
        {"new_email": "Marie.Nouvelle@example.org"},
        follow=True,
    )
    marie.refresh_from_db()
    assert marie.email == "marie@example.org"  # until the link is opened
    sent = Message.objects.get()
    assert (sent.to, sent.template) == ("marie.nouvelle@example.org", "email_change_link")
    assert any("marie.nouvelle@example.org" in m for m in messages_of(response))
    event = Event.objects.get(kind="email_change.requested")
    assert (event.account, event.data["by"]) == (marie, chief.email)


@pytest.mark.parametrize(
    ("language", "value", "error"),
    [
        ("fr", "pas-une-adresse", "Saisissez une adresse de courriel valide."),
        ("en", "pas-une-adresse", "Enter a valid email address."),
        ("fr", "", "Ce champ est obligatoire."),
        ("en", "", "This field is required."),
    ],
)
def test_a_malformed_new_email_is_refused_on_the_form(staff_client, marie, language, value, error):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = action(staff_client, marie, "change-email", {"new_email": value})
    assert response.status_code == 200
    assert error in section(response.content.decode(), "actions")
    assert not Message.objects.exists() and not Event.objects.filter(kind__startswith="email")


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Un autre compte utilise déjà cette adresse"),
        ("en", "Another account already uses this e-mail address."),
    ],
)
def test_an_address_taken_by_another_account_is_said_plainly(
    staff_client, marie, language, message
):
    make_account(email="pris@example.org")
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = action(
        staff_client, marie, "change-email", {"new_email": "PRIS@example.org"}, follow=True
    )
    assert any(message in shown for shown in messages_of(response))
    assert not Message.objects.exists()
    assert not Event.objects.filter(kind="email_change.requested").exists()


def test_a_support_agent_cannot_end_a_superusers_sessions(chief):
    clerk = make_account(email="commis@example.org", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="end_account_sessions"))
    client = Client()
    client.force_login(clerk)
    before = Account.objects.get(pk=chief.pk).sessions_generation
    response = action(client, chief, "end-sessions", follow=True)
    assert any("superuser" in m or "superutilisateur" in m for m in messages_of(response))
    assert Account.objects.get(pk=chief.pk).sessions_generation == before
    assert not Event.objects.filter(kind="account.signed_out_everywhere").exists()
