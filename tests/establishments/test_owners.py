"""Issue 12, low item: a delegate holding the users right cannot remove the owner.

The owner is the account that created the establishment (seed 000's dentist), or, for
establishments made before owners were recorded, their first administrator. Owners are
removed, or their rights changed, only by another owner or by staff.
"""

import importlib

import pytest
from django.apps import apps
from django.test import Client

from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import make_account
from vestibule.establishments.models import Membership
from vestibule.establishments.services import (
    RightsError,
    establishment_create,
    membership_remove,
    membership_rights_change,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("extranet")]


@pytest.fixture
def owner(place) -> Membership:
    membership = member_of(place, "direction@hotel.example", ALL, first_name="Louise")
    Membership.objects.filter(pk=membership.pk).update(is_owner=True)
    membership.refresh_from_db()
    return membership


@pytest.fixture
def delegate(place, owner) -> Membership:
    """Made a user administrator by the owner: holds the users right, is not an owner."""
    return member_of(place, "adjoint@hotel.example", ["reservations", "users"])


def refusal(action, **kwargs) -> str:
    with pytest.raises(RightsError) as refused:
        action(**kwargs)
    return refused.value.code


def test_the_creator_of_an_establishment_is_its_owner():
    dentist = make_account(email="dr.lavoie@example.org")
    place = establishment_create(name="Cabinet Lavoie", owner=dentist)
    assert Membership.objects.get(establishment=place, account=dentist).is_owner


def test_a_delegate_with_the_users_right_cannot_remove_the_owner(owner, delegate):
    assert refusal(membership_remove, membership=owner, by=delegate.account, request=None) == (
        "owner"
    )
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_a_delegate_cannot_strip_the_owner_of_their_rights_either(owner, delegate):
    code = refusal(
        membership_rights_change,
        membership=owner,
        rights=["reservations"],
        by=delegate.account,
        request=None,
    )
    assert code == "owner"
    assert Membership.objects.get(pk=owner.pk).rights == ALL


def test_the_owner_cannot_remove_themselves_and_leave_no_owner(owner, delegate):
    assert refusal(membership_remove, membership=owner, by=owner.account, request=None) == "owner"


def test_another_owner_removes_an_owner(place, owner, delegate):
    second = member_of(place, "associe@hotel.example", ALL)
    Membership.objects.filter(pk=second.pk).update(is_owner=True)
    membership_remove(membership=owner, by=second.account, request=None)
    assert not Membership.objects.filter(pk=owner.pk).exists()


def test_staff_remove_an_owner(owner, delegate):
    staff = make_account(email="soutien@extranet.example", is_staff=True)
    membership_remove(membership=owner, by=staff, request=None)
    assert not Membership.objects.filter(pk=owner.pk).exists()


def test_the_owner_still_removes_a_delegate(owner, delegate):
    membership_remove(membership=delegate, by=owner.account, request=None)
    assert not Membership.objects.filter(pk=delegate.pk).exists()


@pytest.mark.parametrize(
    "language, message",
    [
        ("fr", "Seul un autre propriétaire de l&#x27;établissement, ou l&#x27;équipe de soutien"),
        ("en", "Only another owner of the establishment, or the support team"),
    ],
)
def test_remove_the_user_on_the_owner_is_refused_on_the_page(
    settings, owner, delegate, language, message
):
    browser = Client()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    browser.force_login(delegate.account)
    users = browser.get("/establishments/users/").content.decode()
    assert 'data-testid="owner"' in users
    # « Supprimer l'utilisateur » posts remove=1 on the owner's « Gérer » page.
    response = browser.post(f"/establishments/users/{owner.pk}/", {"remove": "1", "confirm": "1"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()
    browser.post(f"/establishments/users/{owner.pk}/", {"rights": ["rates"]})
    assert Membership.objects.get(pk=owner.pk).rights == ALL


def test_establishments_made_before_owners_get_their_first_administrator_as_owner():
    place = hotel()
    member_of(place, "clerk@hotel.example", ["reservations"])
    first_admin = member_of(place, "direction@hotel.example", ALL)
    member_of(place, "adjoint@hotel.example", ["users"])
    migration = importlib.import_module(
        "vestibule.establishments.migrations.0003_membership_is_owner"
    )
    migration.owners_mark(apps, None)
    owners = Membership.objects.filter(is_owner=True)
    assert list(owners) == [first_admin]
