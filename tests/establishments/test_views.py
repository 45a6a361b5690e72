"""Seed 001's « Ajouter et gérer des utilisateurs », page by page, and who may reach what."""

from datetime import timedelta

import pytest
from django.test import Client

from tests.establishments.helpers import ALL, hotel, invitation_link, member_of
from tests.factories import PASSWORD, make_account
from vestibule.establishments.models import Invitation, Membership
from vestibule.notifications.models import Message
from vestibule.tokens.models import Token
from vestibule.tokens.services import token_issue

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("extranet")]


@pytest.fixture
def admin(place):
    membership = member_of(
        place, "admin@hotel.example", ALL, first_name="Louise", last_name="Morin"
    )
    client = Client()
    client.force_login(membership.account)
    return client


def test_the_users_page_lists_users_rights_and_pending_invitations(admin, place):
    member_of(place, "clerk@hotel.example", ["reservations", "rates"])
    Message.objects.all().delete()
    admin.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea@hotel.example",
            "rights": ["messages"],
        },
    )
    page = admin.get("/establishments/users/").content.decode()
    assert "Ajouter et gérer des utilisateurs" in page and "Ajouter un utilisateur" in page
    assert "clerk@hotel.example" in page and "Réservations, Tarifs et disponibilités" in page
    assert "lea@hotel.example" in page and "Gérer" in page


def test_new_user_two_steps_then_the_invitation_is_sent(admin, place):
    step1 = admin.post(
        "/establishments/users/add/new/",
        {"first_name": "Léa", "last_name": "Roy", "email": "lea@hotel.example"},
    )
    html = step1.content.decode()
    assert "Envoyer l'invitation" in html.replace("&#x27;", "'")
    assert 'name="rights"' in html and 'value="lea@hotel.example"' in html
    done = admin.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea@hotel.example",
            "rights": ["reservations", "rates"],
        },
    )
    assert done["Location"] == "/establishments/users/"
    invitation = Invitation.objects.get()
    assert (
        invitation.rights == ["reservations", "rates"]
        and invitation.inviter.email == "admin@hotel.example"
    )
    mail = Message.objects.get(to="lea@hotel.example")
    assert "Hôtel du Port" in mail.subject


def test_the_invited_person_chooses_a_password_then_signs_in_with_the_email(admin, place):
    admin.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea@hotel.example",
            "rights": ["reservations", "rates"],
        },
    )
    guest = Client()
    opened = guest.get(invitation_link("lea@hotel.example"))
    assert opened["Location"] == "/establishments/invitation/"
    page = guest.get("/establishments/invitation/").content.decode()
    assert "Hôtel du Port" in page and "Réservations" in page
    short = guest.post(
        "/establishments/invitation/", {"password": "abc", "password_confirm": "abc"}
    )
    assert "minimum de 8 caractères" in short.content.decode()
    accepted = guest.post(
        "/establishments/invitation/",
        {"password": "chambre-avec-vue", "password_confirm": "chambre-avec-vue"},
    )
    assert accepted["Location"] == "/login/"
    signed_in = Client()
    assert (
        signed_in.post(
            "/login/", {"identifier": "lea@hotel.example", "password": "chambre-avec-vue"}
        )["Location"]
        == "/portal/"
    )
    home = signed_in.get("/portal/").content.decode()
    assert (
        "/establishments/sections/reservations/" in home
        and "/establishments/sections/rates/" in home
    )
    assert "/establishments/sections/finances/" not in home
    assert signed_in.get("/establishments/sections/reservations/").status_code == 200
    assert signed_in.get("/establishments/sections/finances/").status_code == 403
    assert signed_in.get("/establishments/users/").status_code == 403


@pytest.mark.parametrize(
    ("language", "fields", "field", "message"),
    [
        (
            "fr",
            {"first_name": "", "last_name": "Roy", "email": "lea@hotel.example"},
            "first_name",
            "Ce champ est obligatoire.",
        ),
        (
            "en",
            {"first_name": "", "last_name": "Roy", "email": "lea@hotel.example"},
            "first_name",
            "This field is required.",
        ),
        (
            "fr",
            {"first_name": "Léa", "last_name": "", "email": "lea@hotel.example"},
            "last_name",
            "Ce champ est obligatoire.",
        ),
        (
            "en",
            {"first_name": "Léa", "last_name": "", "email": "lea@hotel.example"},
            "last_name",
            "This field is required.",
        ),
        (
            "fr",
            {"first_name": "Léa", "last_name": "Roy", "email": "lea@"},
            "email",
            "Cette adresse courriel est invalide",
        ),
        (
            "en",
            {"first_name": "Léa", "last_name": "Roy", "email": "lea@"},
            "email",
            "This e-mail address is invalid",
        ),
        (
            "fr",
            {
                "rights_step": "1",
                "first_name": "Léa",
                "last_name": "Roy",
                "email": "lea@hotel.example",
            },
            "rights",
            "Cochez au moins un droit d'accès.",
        ),
        (
            "en",
            {
                "rights_step": "1",
                "first_name": "Léa",
                "last_name": "Roy",
                "email": "lea@hotel.example",
            },
            "rights",
            "Select at least one access right.",
        ),
        (
            "fr",
            {
                "rights_step": "1",
                "first_name": "Léa",
                "last_name": "Roy",
                "email": "lea@hotel.example",
                "rights": ["is_staff"],
            },
            "rights",
            "n’en fait pas partie",
        ),
        (
            "en",
            {
                "rights_step": "1",
                "first_name": "Léa",
                "last_name": "Roy",
                "email": "lea@hotel.example",
                "rights": ["is_staff"],
            },
            "rights",
            "is not one of the available choices",
        ),
    ],
)
def test_new_user_field_errors(admin, language, fields, field, message):
    admin.cookies["vestibule_language"] = language
    response = admin.post("/establishments/users/add/new/", fields)
    errors = response.context["form"].errors[field]
    assert any(message in error for error in errors), errors
    assert not Invitation.objects.exists()


def test_existing_user_needs_matching_identifier_and_email(admin, place):
    make_account(email="other@hotel.example")
    wrong = admin.post(
        "/establishments/users/add/existing/",
        {"identifier": "other@hotel.example", "email": "else@hotel.example"},
    )
    assert (
        "Aucun compte n'a cet identifiant et cette adresse courriel."
        in wrong.content.decode().replace("&#x27;", "'")
    )
    step2 = admin.post(
        "/establishments/users/add/existing/",
        {"identifier": "OTHER@hotel.example", "email": "other@hotel.example"},
    )
    assert 'name="rights"' in step2.content.decode()
    admin.post(
        "/establishments/users/add/existing/",
        {
            "rights_step": "1",
            "identifier": "other@hotel.example",
            "email": "other@hotel.example",
            "rights": ["finances"],
        },
    )
    assert Message.objects.get(to="other@hotel.example").template == "invitation_existing"


def test_an_existing_user_accepts_after_signing_in_and_access_starts_then(admin, place):
    other = make_account(email="other@hotel.example")
    admin.post(
        "/establishments/users/add/existing/",
        {
            "rights_step": "1",
            "identifier": "other@hotel.example",
            "email": "other@hotel.example",
            "rights": ["finances"],
        },
    )
    browser = Client()
    browser.get(invitation_link("other@hotel.example"))
    page = browser.get("/establishments/invitation/").content.decode()
    assert "/login/?next=/establishments/invitation/" in page
    assert not Membership.objects.filter(account=other).exists()
    browser.post("/login/", {"identifier": "other@hotel.example", "password": PASSWORD})
    accepted = browser.post("/establishments/invitation/")
    assert accepted["Location"] == "/portal/"
    assert Membership.objects.get(account=other).rights == ["finances"]


def test_manage_changes_rights_and_removes_and_the_removed_user_is_refused_at_once(admin, place):
    clerk = member_of(place, "clerk@hotel.example", ["reservations"])
    clerk_browser = Client()
    clerk_browser.post("/login/", {"identifier": "clerk@hotel.example", "password": PASSWORD})
    assert clerk_browser.get("/establishments/sections/reservations/").status_code == 200
    admin.post(f"/establishments/users/{clerk.pk}/", {"rights": ["rates"]})
    assert clerk_browser.get("/establishments/sections/reservations/").status_code == 403
    assert clerk_browser.get("/establishments/sections/rates/").status_code == 200
    page = admin.get(f"/establishments/users/{clerk.pk}/").content.decode()
    assert "Supprimer l&#x27;utilisateur" in page or "Supprimer l'utilisateur" in page
    admin.post(f"/establishments/users/{clerk.pk}/", {"remove": "1", "confirm": "1"})
    assert not Membership.objects.filter(pk=clerk.pk).exists()
    assert clerk_browser.get("/establishments/sections/rates/").status_code == 403


def test_the_last_administrator_is_kept_with_a_clear_message(admin, place):
    me = Membership.objects.get(account__email="admin@hotel.example")
    response = admin.post(f"/establishments/users/{me.pk}/", {"remove": "1", "confirm": "1"})
    assert "au moins un administrateur" in response.content.decode()
    response = admin.post(f"/establishments/users/{me.pk}/", {"rights": ["rates"]})
    assert "au moins un administrateur" in response.content.decode()
    assert Membership.objects.get(pk=me.pk).rights == ALL


def test_posted_ids_of_another_establishment_are_refused(admin, place):
    elsewhere = hotel("Hôtel de la Gare", "H002")
    foreign = member_of(elsewhere, "foreign@hotel.example", ALL)
    assert (
        admin.post(
            f"/establishments/users/{foreign.pk}/", {"remove": "1", "confirm": "1"}
        ).status_code
        == 404
    )
    assert admin.post(f"/establishments/users/{foreign.pk}/", {"rights": []}).status_code == 404
    assert Membership.objects.filter(pk=foreign.pk, rights=ALL).exists()
    invitation_owner = Client()
    invitation_owner.force_login(foreign.account)
    invitation_owner.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "A",
            "last_name": "B",
            "email": "x@hotel.example",
            "rights": ["rates"],
        },
    )
    foreign_invitation = Invitation.objects.get(establishment=elsewhere)
    assert (
        admin.post(f"/establishments/invitations/{foreign_invitation.pk}/revoke/").status_code
        == 404
    )
    assert Invitation.objects.get(pk=foreign_invitation.pk).state == "pending"
    # Switching to an establishment one does not belong to changes nothing.
    admin.post("/establishments/switch/", {"establishment": elsewhere.pk})
    assert "Hôtel du Port" in admin.get("/establishments/users/").content.decode()


def test_extra_fields_are_ignored(admin, place):
    clerk = member_of(place, "clerk@hotel.example", ["reservations"])
    admin.post(
        f"/establishments/users/{clerk.pk}/",
        {"rights": ["rates"], "is_staff": "on", "account": "1", "establishment": "99"},
    )
    clerk.refresh_from_db()
    assert clerk.rights == ["rates"] and not clerk.account.is_staff


ROUTES = [
    ("get", "/establishments/users/"),
    ("get", "/establishments/users/add/"),
    ("get", "/establishments/users/add/new/"),
    ("get", "/establishments/users/add/existing/"),
    ("get", "/establishments/users/{member}/"),
    ("post", "/establishments/users/{member}/"),
    ("post", "/establishments/invitations/{invitation}/revoke/"),
    ("post", "/establishments/invitations/{invitation}/resend/"),
    ("get", "/establishments/sections/finances/"),
]


@pytest.mark.parametrize(("method", "route"), ROUTES)
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("anonymous", None),
        ("plain_member", False),
        ("delegate_without_right", False),
        ("administrator_elsewhere", False),
        ("administrator", True),
        ("staff", False),
    ],
)
def test_access_matrix(place, method, route, role, allowed):
    owner = member_of(place, "owner@hotel.example", ALL)
    target = member_of(place, "target@hotel.example", ["finances"])
    invitation = Invitation.objects.create(
        establishment=place,
        email="i@hotel.example",
        rights=["rates"],
        inviter=owner.account,
        token=token_issue(purpose=Token.Purpose.INVITATION, lifetime=timedelta(days=7))[1],
    )
    client = Client()
    if role == "plain_member":
        client.force_login(make_account(email="plain@hotel.example"))
    elif role == "delegate_without_right":
        client.force_login(member_of(place, "delegate@hotel.example", ["reservations"]).account)
    elif role == "administrator_elsewhere":
        client.force_login(
            member_of(hotel("Autre", "H009"), "elsewhere@hotel.example", ALL).account
        )
    elif role == "administrator":
        client.force_login(owner.account)
    elif role == "staff":
        client.force_login(
            make_account(email="staff@hotel.example", is_staff=True, is_superuser=True)
        )
    url = route.format(member=target.pk, invitation=invitation.pk)
    response = getattr(client, method)(url, {"rights": ["finances"]} if method == "post" else None)
    if allowed is None:
        assert response.status_code == 302 and response["Location"].startswith("/login/")
    elif allowed:
        assert response.status_code in (200, 302)
    elif role == "administrator_elsewhere" and "{" not in route:
        # Pages without an id show the administrator's own establishment, never this one.
        assert response.status_code == 200
        assert "target@hotel.example" not in response.content.decode()
        assert "Hôtel du Port" not in response.content.decode()
    else:
        assert response.status_code in (403, 404)
    if not allowed:
        target.refresh_from_db()
        assert target.rights == ["finances"]
        assert Invitation.objects.get(pk=invitation.pk).state == "pending"


def test_a_member_of_several_establishments_switches_from_the_header(place):
    second = hotel("Hôtel de la Gare", "H002")
    membership = member_of(place, "both@hotel.example", ["reservations"])
    member_of(second, "both@hotel.example", ["finances"])
    client = Client()
    client.force_login(membership.account)
    page = client.get("/portal/").content.decode()
    assert 'data-testid="establishment-switch"' in page
    client.post("/establishments/switch/", {"establishment": second.pk, "next": "/portal/"})
    assert client.get("/establishments/sections/finances/").status_code == 200
    assert client.get("/establishments/sections/reservations/").status_code == 403
    assert "Hôtel de la Gare" in client.get("/account/").content.decode()


def test_the_login_email_page_explains_the_path_or_gives_support(place):
    membership = member_of(place, "admin@hotel.example", ALL)
    client = Client()
    client.force_login(membership.account)
    page = client.get("/establishments/login-email/").content.decode()
    assert "Vous ne pouvez pas modifier l" in page and "Nouvel utilisateur" in page
    for n in range(2, 6):
        member_of(hotel(f"Hôtel {n}", f"H10{n}"), "admin@hotel.example", ALL)
    page = client.get("/establishments/login-email/").content.decode()
    assert "assistance@extranet.example" in page
