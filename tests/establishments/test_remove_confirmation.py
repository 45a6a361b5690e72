"""« Supprimer l'utilisateur » asks first (issue 17): the removal signs the user out at once,
so a slip of the finger on « Gérer » must not cost them their access."""

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.establishments.helpers import ALL, member_of
from vestibule.establishments.models import Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(extranet, place) -> Membership:
    return member_of(
        place, "clerk@hotel.example", ["reservations"], kind="user", activated_at=timezone.now()
    )


def admin_client(place, language: str) -> Client:
    admin = member_of(place, "admin@hotel.example", ALL, kind="user", activated_at=timezone.now())
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(admin.account)
    return client


@pytest.mark.parametrize(
    ("language", "question", "consequence", "confirm"),
    [
        ("fr", "Supprimer Jean Tremblay ?", "perdra tous ses droits d'accès à ", "Oui, supprimer"),
        ("en", "Remove Jean Tremblay?", "will lose every access right to ", "Yes, remove"),
    ],
)
def test_remove_asks_first_and_changes_nothing(
    place, clerk, language, question, consequence, confirm
):
    clerk.account.first_name, clerk.account.last_name = "Jean", "Tremblay"
    clerk.account.save()
    response = admin_client(place, language).post(
        f"/establishments/users/{clerk.pk}/", {"remove": "1"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<h1>{question}</h1>" in page
    assert f"clerk@hotel.example {consequence}{place.name}" in page
    assert confirm in page
    assert Membership.objects.filter(pk=clerk.pk).exists()


def test_the_confirmed_removal_removes(place, clerk):
    response = admin_client(place, "fr").post(
        f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"}
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=clerk.pk).exists()
