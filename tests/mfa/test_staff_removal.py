"""Staff remove a member's factors from the support page (support/views.py remove_factors):
their own permission, a reason, the profile's help on what to check, audited and e-mailed."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.mfa.models import Factor, RecoveryCode
from vestibule.mfa.services import recovery_codes_generate
from vestibule.queues import background_wait

pytestmark = pytest.mark.django_db


def staff_with(*codenames: str, email: str = "soutien@example.org"):
    staff = make_account(email=email, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return staff


def console(staff, language: str = "fr") -> Client:
    client = Client(REMOTE_ADDR="198.51.100.20")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(staff)
    return client


@pytest.fixture
def member(rf):
    account = make_account(email="marie@example.org")
    Factor.objects.create(account=account, kind=Factor.Kind.TOTP, name="Phone")
    Factor.objects.create(account=account, kind=Factor.Kind.WEBAUTHN, name="YubiKey")
    recovery_codes_generate(account=account, request=rf.get("/"))
    return account


def url(account, action: str = "remove-factors/") -> str:
    return f"/admin/accounts/account/{account.pk}/support/{action}"


def test_the_support_page_lists_the_factors_and_the_profiles_help(member):
    staff = staff_with("view_account", "remove_factors")
    page = console(staff, "en").get(url(member, "")).content.decode()
    assert "YubiKey" in page and "Phone" in page
    assert 'data-testid="remove-factors"' in page
    assert "call the member back on the number on file" in page


def test_the_button_is_hidden_without_the_permission(member):
    staff = staff_with("view_account")
    page = console(staff).get(url(member, "")).content.decode()
    assert "YubiKey" in page
    assert 'data-testid="remove-factors"' not in page


def test_staff_without_the_permission_are_refused(member):
    staff = staff_with("view_account", "disable_account", "change_account")
    response = console(staff).post(url(member), {"reason": "Rappelée au dossier"})
    assert response.status_code == 403
    assert Factor.objects.filter(account=member).count() == 2
    assert not Event.objects.filter(kind="mfa.factors_removed").exists()


def test_a_member_cannot_remove_factors_there(member):
    other = make_account(email="paul@example.org")
    response = console(other).post(url(member), {"reason": "x"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Factor.objects.filter(account=member).count() == 2


@pytest.mark.django_db(transaction=True)
def test_removal_takes_every_factor_and_code_audited_and_mailed(member, inbox):
    staff = staff_with("view_account", "remove_factors")
    background_wait()  # the notices of the factors' enrolment are out of the way
    inbox.clear()
    response = console(staff).post(url(member), {"reason": "Rappelée au 514 555-0100"})
    assert response.status_code == 302
    assert not Factor.objects.filter(account=member).exists()
    assert not RecoveryCode.objects.filter(account=member).exists()
    event = Event.objects.get(kind="mfa.factors_removed")
    assert event.account_id == member.pk
    assert event.data["by"] == staff.email
    assert event.data["reason"] == "Rappelée au 514 555-0100"
    assert event.data["factors"] == 2
    (message,) = inbox.wait_for(member.email)
    assert "assistance" in inbox.text(message)


def test_a_removal_needs_a_post(member):
    staff = staff_with("view_account", "remove_factors")
    assert console(staff).get(url(member)).status_code == 405
    assert Factor.objects.filter(account=member).count() == 2


@pytest.mark.parametrize(
    ("language", "reason", "message"),
    [
        ("fr", "", "Indiquez comment vous avez vérifié que la demande vient du membre."),
        ("en", "", "Say how you checked that the request comes from the member."),
        ("fr", "x" * 501, "Limitez le motif à 500 caractères."),
        ("en", "x" * 501, "Keep the reason to 500 characters."),
    ],
)
def test_reason_field_errors(member, language, reason, message):
    staff = staff_with("view_account", "remove_factors")
    response = console(staff, language).post(url(member), {"reason": reason})
    assert response.status_code == 200
    assert message in response.context["factors_form"].errors["reason"]
    assert Factor.objects.filter(account=member).count() == 2
