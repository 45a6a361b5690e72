"""A delegated user (joined by invitation, no registry record) removed from its last
establishment can no longer sign in, and is deleted after the profile's delay, audited;
invited again meanwhile, it comes back with a password chosen on the invitation page."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.establishments.helpers import ALL, hotel, invitation_link, member_of
from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.lifecycle import delegates_purge
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.establishments.invitations import invitation_send
from vestibule.establishments.models import Membership
from vestibule.establishments.services import membership_remove

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a brand new passphrase"


def sign_in(client: Client, identifier: str, password: str = PASSWORD):
    return client.post("/login/", {"identifier": identifier, "password": password})


@pytest.fixture
def admin_membership(extranet, place) -> Membership:
    return member_of(place, "admin@hotel.example", ALL, kind="user", activated_at=timezone.now())


@pytest.fixture
def admin(admin_membership) -> Client:
    client = Client()
    client.force_login(admin_membership.account)
    return client


@pytest.fixture
def clerk(place) -> Membership:
    return member_of(
        place, "clerk@hotel.example", ["reservations"], kind="user", activated_at=timezone.now()
    )


def test_removed_from_its_last_establishment_the_user_can_no_longer_sign_in(admin, clerk):
    browser = Client()
    assert sign_in(browser, "clerk@hotel.example").status_code == 302
    admin.post(f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"})

    account = Account.objects.get(email="clerk@hotel.example")
    assert account.status == Account.Status.DISABLED
    assert account.disabled_cause == Account.DisabledCause.MEMBERSHIP
    event = Event.objects.get(kind="account.disabled")
    assert event.account == account and event.data["by"] == "admin@hotel.example"
    # Its open session ends, and signing in again is refused.
    page = browser.get("/account/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert sign_in(Client(), "clerk@hotel.example").context["outcome"].outcome == "disabled"


def test_a_user_still_in_another_establishment_keeps_its_account(admin_membership, clerk):
    member_of(hotel("Hôtel de la Gare", "H002"), "clerk@hotel.example", ["rates"])
    membership_remove(membership=clerk, by=admin_membership.account, request=None)
    assert Account.objects.get(email="clerk@hotel.example").is_active


def test_a_registry_member_or_a_self_registering_kind_is_never_disabled(use_profile, place):
    use_profile("dentists")
    owner = member_of(place, "dr@example.org", ALL, kind="dentist")
    dentist = make_account(
        email="dr2@example.org", kind="dentist", member=make_member(code="54321", kind="dentist")
    )
    membership = Membership.objects.create(account=dentist, establishment=place, rights=[])
    membership_remove(membership=membership, by=owner.account, request=None)
    assert Account.objects.get(pk=dentist.pk).is_active
    delegate = member_of(place, "adjointe@example.org", [], kind="delegate")
    membership_remove(membership=delegate, by=owner.account, request=None)
    assert not Account.objects.get(email="adjointe@example.org").is_active


def test_the_removed_user_is_deleted_after_the_profiles_delay_and_audited(admin, clerk):
    admin.post(f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"})
    account = Account.objects.get(email="clerk@hotel.example")
    assert delegates_purge(now=timezone.now() + timedelta(days=29)) == 0
    assert Account.objects.filter(pk=account.pk).exists()

    assert delegates_purge(now=timezone.now() + timedelta(days=31)) == 1
    assert not Account.objects.filter(pk=account.pk).exists()
    deleted = Event.objects.get(kind="account.deleted")
    assert deleted.data == {"by": "operator", "reason": "no establishment left"}
    assert not Event.objects.filter(subject="clerk@hotel.example").exists()
    # The address is free: a new invitation makes a new account.
    assert not Account.objects.filter(email="clerk@hotel.example").exists()


def test_a_staff_disabled_account_is_not_purged_as_a_delegate(admin, clerk):
    from vestibule.accounts.lifecycle import account_disable

    account = clerk.account
    account_disable(account=account, reason="fraude", actor=None)
    admin.post(f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"})
    assert delegates_purge(now=timezone.now() + timedelta(days=400)) == 0
    assert Account.objects.filter(pk=account.pk).exists()


def test_invited_again_the_user_chooses_a_password_and_signs_in_again(
    admin, admin_membership, clerk, place
):
    admin.post(f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"})
    invitation_send(
        establishment=place,
        email="clerk@hotel.example",
        rights=["rates"],
        inviter=admin_membership.account,
    )
    browser = Client()
    browser.get(invitation_link("clerk@hotel.example"))
    page = browser.get("/establishments/invitation/").content.decode()
    assert 'name="password"' in page  # it cannot sign in to accept: it chooses a password

    accepted = browser.post(
        "/establishments/invitation/", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 302, accepted.content.decode()[:2000]
    account = Account.objects.get(email="clerk@hotel.example")
    assert account.status == Account.Status.ACTIVE and account.disabled_cause == ""
    assert Membership.objects.get(account=account).rights == ["rates"]
    enabled = Event.objects.get(kind="account.enabled")
    assert enabled.account == account and enabled.data["by"] == "admin@hotel.example"
    assert sign_in(Client(), "clerk@hotel.example", PASSWORD).status_code == 200  # old: refused
    assert sign_in(Client(), "clerk@hotel.example", NEW_PASSWORD).status_code == 302
    assert delegates_purge(now=timezone.now() + timedelta(days=400)) == 0


def test_invited_again_a_password_the_policy_refuses_leaves_the_account_disabled(
    admin, admin_membership, clerk, place
):
    admin.post(f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"})
    invitation_send(
        establishment=place,
        email="clerk@hotel.example",
        rights=["rates"],
        inviter=admin_membership.account,
    )
    browser = Client()
    browser.get(invitation_link("clerk@hotel.example"))
    refused = browser.post(
        "/establishments/invitation/", {"password": "short", "password_confirm": "short"}
    )
    assert refused.status_code == 200 and 'name="password"' in refused.content.decode()
    account = Account.objects.get(email="clerk@hotel.example")
    assert account.status == Account.Status.DISABLED
    assert not Membership.objects.filter(account=account).exists()
