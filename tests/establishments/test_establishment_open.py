"""Opening an establishment for its first administrator (`vestibule create-establishment`,
the admin console): the establishment, an invitation with every right, and accepting it
makes that account the owner (seed 001 cannot start without it)."""

import pytest
from django.test import Client
from django.utils import translation

from tests.establishments.helpers import ALL, invitation_link
from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.establishments.models import Establishment, Invitation, Membership
from vestibule.establishments.onboarding import EstablishmentRefused, establishment_open
from vestibule.notifications.models import Message

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("extranet")]
NEW_PASSWORD = "hotel passphrase 2026"


def test_the_operator_opens_an_establishment_and_its_administrator_is_invited():
    invitation = establishment_open(
        name=" Hôtel du Lac ",
        admin_email="Directrice@Lac.example",
        admin_name="Anne Gagnon",
        region="QC",
        actor=None,
    )
    establishment = Establishment.objects.get()
    assert (establishment.name, establishment.region) == ("Hôtel du Lac", "QC")
    assert invitation.establishment == establishment and invitation.as_owner
    assert invitation.email == "directrice@lac.example" and invitation.rights == ALL
    assert (invitation.first_name, invitation.last_name) == ("Anne", "Gagnon")
    assert invitation.inviter is None and not invitation.for_existing_account
    created = Event.objects.get(kind="establishment.created")
    assert created.data["by"] == "operator"
    assert created.data["establishment"] == establishment.public_id
    message = Message.objects.get(to="directrice@lac.example")
    assert "Vous êtes invité à administrer Hôtel du Lac" in message.text()


def test_accepting_makes_a_new_account_the_owner_with_every_right():
    establishment_open(name="Hôtel du Lac", admin_email="anne@lac.example", actor=None)
    browser = Client()
    browser.get(invitation_link("anne@lac.example"))
    assert 'name="password"' in browser.get("/establishments/invitation/").content.decode()
    accepted = browser.post(
        "/establishments/invitation/", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert accepted.status_code == 302 and accepted["Location"] == "/login/"
    membership = Membership.objects.get(account__email="anne@lac.example")
    assert membership.is_owner and membership.rights == ALL
    # Signed in with the e-mail, the administrator reaches the users-and-rights pages.
    browser.post("/login/", {"identifier": "anne@lac.example", "password": NEW_PASSWORD})
    assert browser.get("/establishments/users/").status_code == 200


def test_an_existing_account_is_invited_to_sign_in_and_becomes_the_owner():
    staff = make_account(email="agent@example.org", is_staff=True)
    make_account(email="anne@lac.example", kind="user")
    invitation = establishment_open(
        name="Hôtel du Lac", admin_email="anne@lac.example", actor=staff
    )
    assert invitation.for_existing_account and invitation.inviter == staff
    assert Event.objects.get(kind="establishment.created").data["by"] == "agent@example.org"
    assert Message.objects.get(to="anne@lac.example").template == "invitation_existing"
    browser = Client()
    browser.get(invitation_link("anne@lac.example"))
    browser.post("/login/", {"identifier": "anne@lac.example", "password": PASSWORD})
    assert browser.post("/establishments/invitation/").status_code == 302
    membership = Membership.objects.get(account__email="anne@lac.example")
    assert membership.is_owner and membership.rights == ALL


def test_an_ordinary_invitation_never_makes_an_owner(place):
    from vestibule.establishments.invitations import invitation_send

    invitation_send(establishment=place, email="clerk@hotel.example", rights=ALL, inviter=None)
    browser = Client()
    browser.get(invitation_link("clerk@hotel.example"))
    browser.post(
        "/establishments/invitation/", {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert not Membership.objects.get(account__email="clerk@hotel.example").is_owner


@pytest.mark.parametrize(
    ("name", "email", "code", "english", "french"),
    [
        (
            "  ",
            "anne@lac.example",
            "name_required",
            "establishment's name",
            "nom de l'établissement",
        ),
        (
            "Hôtel",
            "not-an-address",
            "email_invalid",
            "valid e-mail address",
            "adresse courriel valide",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_made(
    name, email, code, english, french
):
    with pytest.raises(EstablishmentRefused) as caught:
        establishment_open(name=name, admin_email=email, actor=None)
    assert caught.value.code == code
    with translation.override("en"):
        assert english in caught.value.message
    with translation.override("fr"):
        assert french in caught.value.message
    assert not Establishment.objects.exists() and not Invitation.objects.exists()
    assert not Account.objects.exists() and not Message.objects.exists()
