"""Issue 14: staff open an establishment from the console, as `vestibule create-establishment`
does: the establishment, and an invitation of its first administrator with every right."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.establishments.models import Establishment, Invitation
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db

ADD = "/admin/establishments/establishment/add/"
FORM = {"name": "Hôtel du Port", "region": "", "admin_email": "dir@hotel.example", "admin_name": ""}


@pytest.fixture
def chief():
    return make_account(email="chef@example.org", is_staff=True, is_superuser=True)


def client_of(account) -> Client:
    client = Client()
    if account is not None:
        client.force_login(account)
    return client


def test_the_add_page_asks_for_the_establishment_and_its_administrator(chief):
    page = client_of(chief).get(ADD).content.decode()
    for field in ("name", "region", "admin_email", "admin_name"):
        assert f'name="{field}"' in page


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "an invitation has been sent to dir@hotel.example"),
        ("fr", "une invitation a été envoyée à dir@hotel.example"),
    ],
)
def test_adding_opens_the_establishment_and_invites_its_administrator(
    extranet, chief, language, said
):
    client = client_of(chief)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(ADD, {**FORM, "admin_name": "Jeanne Roy"}, follow=True)
    establishment = Establishment.objects.get()
    assert establishment.name == "Hôtel du Port"
    invitation = Invitation.objects.get(establishment=establishment)
    assert (invitation.email, invitation.as_owner) == ("dir@hotel.example", True)
    assert Message.objects.filter(to="dir@hotel.example").exists()
    assert any(said in str(message) for message in response.context["messages"])
    assert response.redirect_chain[-1][0].endswith(f"/{establishment.pk}/change/")
    event = Event.objects.get(kind="establishment.created")
    assert event.data["by"] == chief.email


@pytest.mark.parametrize(
    ("language", "field", "value", "error"),
    [
        ("fr", "admin_email", "pas-une-adresse", "Saisissez une adresse de courriel valide."),
        ("en", "admin_email", "pas-une-adresse", "Enter a valid email address."),
        ("fr", "name", "", "Ce champ est obligatoire."),
        ("en", "name", "", "This field is required."),
    ],
)
def test_a_bad_form_creates_nothing(chief, language, field, value, error):
    client = client_of(chief)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.post(ADD, {**FORM, field: value})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Establishment.objects.exists() and not Invitation.objects.exists()


def test_staff_without_the_add_permission_cannot_open_one():
    clerk = make_account(email="commis@example.org", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_establishment"))
    response = client_of(clerk).post(ADD, FORM)
    assert response.status_code == 403
    assert not Establishment.objects.exists()


def test_staff_with_the_add_permission_opens_one():
    clerk = make_account(email="commis@example.org", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="add_establishment"))
    client_of(clerk).post(ADD, FORM)
    assert Establishment.objects.filter(name="Hôtel du Port").exists()


@pytest.mark.parametrize("who", ["member", "anonymous"])
def test_no_one_else_reaches_the_page(who):
    account = make_account(email="membre@example.org") if who == "member" else None
    response = client_of(account).post(ADD, FORM)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not Establishment.objects.exists()
