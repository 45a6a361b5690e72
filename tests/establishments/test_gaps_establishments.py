"""Establishments behaviour the other tests leave out: invalid invitation links over HTTP, the
creation audit, the invitation lifetime, the admin console, and the routes ROUTES omits."""

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.establishments.helpers import ALL, hotel, invitation_link, member_of
from tests.factories import PASSWORD, make_account, make_member
from tests.flows.walk import answer, last_link, start
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.config import PROFILES_DIR
from vestibule.establishments.current import CURRENT
from vestibule.establishments.invitations import (
    invitation_accept,
    invitation_revoke,
    invitation_send,
)
from vestibule.establishments.models import Establishment, Invitation, Membership
from vestibule.establishments.services import establishment_create
from vestibule.notifications.models import Message
from vestibule.tokens.models import Token

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("extranet")]
NEW_PASSWORD = "chambre-avec-vue"


@pytest.fixture
def owner(place):
    return member_of(place, "admin@hotel.example", ALL, first_name="Louise", last_name="Morin")


def page(response) -> str:
    return html.unescape(response.content.decode())


def invite(place, owner, email="lea@hotel.example", **fields) -> str:
    """Send an invitation; return the link path read back from the e-mail."""
    invitation_send(
        establishment=place,
        email=email,
        rights=["reservations", "rates"],
        inviter=owner.account,
        first_name="Léa",
        last_name="Roy",
        **fields,
    )
    return invitation_link(email)


def key_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def browser(language: str = "fr") -> Client:
    client = Client()
    client.cookies["vestibule_language"] = language
    return client


# --- (a) An invalid invitation link, opened in a browser ---------------------------------


def _revoked(place, owner) -> str:
    link = invite(place, owner)
    invitation_revoke(invitation=Invitation.objects.get(), by=owner.account, request=None)
    return link


def _replaced(place, owner) -> str:
    link = invite(place, owner)
    invite(place, owner)  # a newer invitation to the same address replaces it
    return link


def _expired(place, owner) -> str:
    link = invite(place, owner)
    Token.objects.filter(invitation__isnull=False).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    return link


def _accepted(place, owner) -> str:
    link = invite(place, owner)
    invitation_accept(key=key_of(link), password=NEW_PASSWORD)
    return link


def _unknown(place, owner) -> str:
    invite(place, owner)
    return "/establishments/invitations/not-a-key-we-ever-sent/"


@pytest.mark.parametrize(
    ("make_link", "language", "message"),
    [
        (_revoked, "fr", "Cette invitation a été retirée ou remplacée par une plus récente."),
        (_revoked, "en", "This invitation was withdrawn or replaced by a newer one."),
        (_replaced, "fr", "Cette invitation a été retirée ou remplacée par une plus récente."),
        (_expired, "fr", "Cette invitation a expiré."),
        (_expired, "en", "This invitation has expired."),
        (_accepted, "fr", "Cette invitation a déjà été acceptée."),
        (_accepted, "en", "This invitation has already been accepted."),
        (_unknown, "fr", "Ce lien n'est pas valide. Vérifiez que vous l'avez copié en entier."),
        (_unknown, "en", "This link is not valid. Check that you copied all of it."),
    ],
)
def test_an_invalid_invitation_link_shows_why_on_the_invalid_page(
    place, owner, make_link, language, message
):
    link = make_link(place, owner)
    client = browser(language)
    opened = client.get(link)
    assert opened.status_code == 302 and opened["Location"] == "/establishments/invitation/"
    shown = client.get("/establishments/invitation/")
    assert shown.status_code == 410
    assert "establishments/invitation_invalid.html" in [t.name for t in shown.templates]
    text = page(shown)
    assert 'data-testid="invitation-invalid"' in text and message in text
    heading = {
        "fr": "Cette invitation n'est plus valide",
        "en": "This invitation is no longer valid",
    }
    assert heading[language] in text
    # No password form: nothing to accept here.
    assert 'name="password"' not in text


@pytest.mark.parametrize("make_link", [_revoked, _expired, _accepted, _unknown])
def test_posting_a_password_to_an_invalid_invitation_creates_nothing(place, owner, make_link):
    link = make_link(place, owner)
    accounts = list(Account.objects.order_by("pk").values_list("pk", "password"))
    memberships = list(Membership.objects.order_by("pk").values_list("pk", "rights"))
    states = list(Invitation.objects.order_by("pk").values_list("pk", "state"))
    client = Client()
    client.get(link)
    refused = client.post(
        "/establishments/invitation/",
        {"password": "another passphrase", "password_confirm": "another passphrase"},
    )
    assert refused.status_code == 410
    assert list(Account.objects.order_by("pk").values_list("pk", "password")) == accounts
    assert list(Membership.objects.order_by("pk").values_list("pk", "rights")) == memberships
    assert list(Invitation.objects.order_by("pk").values_list("pk", "state")) == states


def test_the_invitation_page_without_any_link_opened_is_the_invalid_page():
    response = Client().get("/establishments/invitation/")
    assert response.status_code == 410
    assert "Ce lien n'est pas valide" in page(response)


# --- (b) The establishment.created audit event ------------------------------------------


def test_creating_an_establishment_is_audited_with_its_owner_and_public_id():
    owner = make_account(email="owner@hotel.example")
    establishment = establishment_create(name="Hôtel du Lac", owner=owner, public_id="H777")
    event = Event.objects.get(kind="establishment.created")
    assert event.account == owner and event.subject == "owner@hotel.example"
    assert event.data == {"establishment": "H777"}
    assert Membership.objects.get(account=owner, establishment=establishment).rights == ALL


def test_a_generated_public_id_is_the_one_audited():
    owner = make_account(email="owner@hotel.example")
    establishment = establishment_create(name="Hôtel du Lac", owner=owner)
    assert establishment.public_id
    event = Event.objects.get(kind="establishment.created")
    assert event.data["establishment"] == establishment.public_id


def test_an_activated_dentist_practice_is_audited_as_created(use_profile):
    use_profile("dentists")
    make_member(
        kind="dentist",
        code="12345",
        email="dr.lavoie@example.org",
        first_name="Sophie",
        last_name="Lavoie",
    )
    browser_ = Client()
    start(browser_, "registration")
    answer(
        browser_,
        "registration",
        is_member="on",
        email="dr.lavoie@example.org",
        code="12345",
        password="molaire42",
        password_confirm="molaire42",
    )
    assert not Event.objects.filter(kind="establishment.created").exists()
    Client().get(last_link("dr.lavoie@example.org", "activation"))
    event = Event.objects.get(kind="establishment.created")
    assert event.account.email == "dr.lavoie@example.org"
    assert event.data["establishment"] == "12345"
    assert Establishment.objects.get(public_id="12345").name == "Cabinet Sophie Lavoie"


# --- (c) The invitation lifetime comes from the profile -----------------------------------


def test_an_invitation_lives_seven_days_in_the_extranet_profile(place, owner):
    client = Client()
    client.force_login(owner.account)
    before = timezone.now()
    client.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea@hotel.example",
            "rights": ["reservations"],
        },
    )
    expires = Invitation.objects.get().expires_at
    assert before + timedelta(days=7) <= expires <= timezone.now() + timedelta(days=7)
    mail = Message.objects.get(to="lea@hotel.example")
    assert "L'invitation est valide pendant 7 jours." in html.unescape(mail.text())


def test_the_invitation_lifetime_follows_the_profile_setting(settings, tmp_path):
    text = (PROFILES_DIR / "extranet.toml").read_text()
    assert "invitation_lifetime_days = 7" in text
    custom = tmp_path / "extranet-short.toml"
    custom.write_text(text.replace("invitation_lifetime_days = 7", "invitation_lifetime_days = 2"))
    settings.VESTIBULE_PROFILE = str(custom)
    place = hotel()
    owner = member_of(place, "admin@hotel.example", ALL)
    before = timezone.now()
    link = invite(place, owner)
    expires = Invitation.objects.get().expires_at
    assert before + timedelta(days=2) <= expires <= timezone.now() + timedelta(days=2)
    assert "valide pendant 2 jours" in html.unescape(Message.objects.get().text())
    # Past that time the link no longer works.
    Token.objects.filter(invitation__isnull=False).update(expires_at=timezone.now())
    client = Client()
    client.get(link)
    assert "Cette invitation a expiré." in page(client.get("/establishments/invitation/"))


# --- (d) The admin console ---------------------------------------------------------------


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(make_account(email="staff@example.com", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def invited(place, owner):
    invite(place, owner)
    return Invitation.objects.get()


@pytest.mark.parametrize("model", ["establishment", "membership", "invitation"])
def test_the_admin_lists_and_pages_load_for_a_superuser(
    superuser_client, place, owner, invited, model
):
    objects = {"establishment": place, "membership": owner, "invitation": invited}
    listing = superuser_client.get(f"/admin/establishments/{model}/")
    assert listing.status_code == 200
    assert f"/admin/establishments/{model}/{objects[model].pk}/change/" in listing.content.decode()
    detail = superuser_client.get(f"/admin/establishments/{model}/{objects[model].pk}/change/")
    assert detail.status_code == 200
    assert "Hôtel du Port" in page(detail)


def test_the_admin_search_finds_by_email_and_name(superuser_client, place, owner, invited):
    found = superuser_client.get("/admin/establishments/invitation/?q=lea@hotel")
    assert "lea@hotel.example" in page(found)
    none = superuser_client.get("/admin/establishments/invitation/?q=nobody")
    assert "lea@hotel.example" not in page(none)
    assert "H001" in page(superuser_client.get("/admin/establishments/establishment/?q=Port"))


def test_an_invitation_in_the_admin_shows_no_digest_and_edits_nothing(superuser_client, invited):
    url = f"/admin/establishments/invitation/{invited.pk}/change/"
    text = page(superuser_client.get(url))
    assert invited.token.digest not in text and 'name="token"' not in text
    for field in ["email", "state", "expires_at", "rights", "establishment", "inviter"]:
        assert f'name="{field}"' not in text, field
    assert "lea@hotel.example" in text
    before = Invitation.objects.filter(pk=invited.pk).values().get()
    superuser_client.post(
        url,
        {
            "key_digest": "0" * 64,
            "email": "attacker@example.org",
            "state": "accepted",
            "rights": '["users"]',
            "expires_at_0": "2999-01-01",
            "expires_at_1": "00:00:00",
            "_save": "Enregistrer",
        },
    )
    assert Invitation.objects.filter(pk=invited.pk).values().get() == before


def test_invitations_and_memberships_are_not_added_in_the_admin(superuser_client, owner):
    assert superuser_client.get("/admin/establishments/invitation/add/").status_code == 403
    assert superuser_client.get("/admin/establishments/membership/add/").status_code == 403


def test_a_membership_in_the_admin_is_read_only(superuser_client, owner):
    url = f"/admin/establishments/membership/{owner.pk}/change/"
    text = page(superuser_client.get(url))
    assert 'name="rights"' not in text and 'name="account"' not in text
    assert superuser_client.post(url, {"rights": '["users"]'}).status_code == 403
    owner.refresh_from_db()
    assert owner.rights == ALL


def test_an_establishment_page_shows_its_members_read_only(superuser_client, place, owner):
    text = page(superuser_client.get(f"/admin/establishments/establishment/{place.pk}/change/"))
    assert "admin@hotel.example" in text
    assert 'name="memberships-0-rights"' not in text
    assert 'name="memberships-0-DELETE"' not in text


def test_the_admin_is_closed_to_non_staff(owner):
    client = Client()
    client.force_login(owner.account)
    response = client.get("/admin/establishments/invitation/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert Client().get("/admin/establishments/establishment/").status_code == 302


# --- (e) Access to the routes ROUTES in test_views.py leaves out ----------------------------


def test_switch_sends_an_anonymous_visitor_to_sign_in(place):
    response = Client().post("/establishments/switch/", {"establishment": place.pk})
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/establishments/switch/"


@pytest.mark.parametrize("signed_in", [False, True])
def test_switch_takes_only_posts(place, owner, signed_in):
    client = Client()
    if signed_in:
        client.force_login(owner.account)
    assert client.get("/establishments/switch/").status_code == 405


@pytest.mark.parametrize("role", ["plain_member", "member_elsewhere", "staff"])
def test_switch_to_an_establishment_one_does_not_belong_to_changes_nothing(place, owner, role):
    target = hotel("Hôtel de la Gare", "H002")
    member_of(target, "clerk@hotel.example", ["finances"])
    client = Client()
    if role == "plain_member":
        client.force_login(make_account(email="plain@hotel.example"))
    elif role == "member_elsewhere":
        client.force_login(owner.account)
        client.get("/portal/")  # the current establishment becomes the owner's own
    else:
        client.force_login(
            make_account(email="staff@example.com", is_staff=True, is_superuser=True)
        )
    before = client.session.get(CURRENT)
    response = client.post("/establishments/switch/", {"establishment": target.pk})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert client.session.get(CURRENT) == before != target.pk
    assert client.get("/establishments/sections/finances/").status_code == (
        200 if role == "member_elsewhere" else 403
    )
    assert "Hôtel de la Gare" not in page(client.get("/portal/"))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_switch_never_redirects_off_site(place, owner, target):
    client = Client()
    client.force_login(owner.account)
    response = client.post("/establishments/switch/", {"establishment": place.pk, "next": target})
    assert response["Location"] == "/portal/"


def test_the_login_email_page_sends_an_anonymous_visitor_to_sign_in():
    response = Client().get("/establishments/login-email/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/establishments/login-email/"


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "Vous ne pouvez pas modifier l'adresse courriel"),
        ("en", "You cannot change the e-mail address you use to sign in."),
    ],
)
def test_the_login_email_page_explains_to_a_user_without_establishment(language, text):
    client = browser(language)
    client.force_login(make_account(email="plain@hotel.example"))
    response = client.get("/establishments/login-email/")
    assert response.status_code == 200 and text in page(response)
    assert "assistance@extranet.example" not in page(response)


def test_the_login_email_page_is_absent_without_access_rights_even_for_staff(use_profile):
    use_profile("community")
    client = Client()
    client.force_login(make_account(email="staff@example.com", is_staff=True, is_superuser=True))
    assert client.get("/establishments/login-email/").status_code == 404


def test_opening_an_invitation_link_moves_the_key_out_of_the_address_bar(place, owner):
    link = invite(place, owner)
    key = key_of(link)
    for client in (Client(), browser("en")):
        response = client.get(link)
        assert response.status_code == 302
        assert response["Location"] == "/establishments/invitation/"
        assert key not in response["Location"]
        assert key not in page(client.get("/establishments/invitation/"))


@pytest.fixture
def existing_invitation(place, owner):
    """An « Utilisateur existant » invitation for other@hotel.example, opened in a browser."""
    invited = make_account(email="other@hotel.example")
    link = invite(place, owner, email="other@hotel.example", for_existing_account=True)
    return invited, link


@pytest.mark.parametrize("role", ["anonymous", "another_account", "staff", "administrator"])
def test_only_the_invited_account_accepts_an_existing_user_invitation(
    place, owner, existing_invitation, role
):
    invited, link = existing_invitation
    client = Client()
    if role == "another_account":
        client.force_login(make_account(email="stranger@hotel.example"))
    elif role == "staff":
        client.force_login(
            make_account(email="staff@example.com", is_staff=True, is_superuser=True)
        )
    elif role == "administrator":
        client.force_login(owner.account)
    client.get(link)
    shown = client.get("/establishments/invitation/")
    assert shown.status_code == 200
    if role == "anonymous":
        assert "Connectez-vous avec le compte de other@hotel.example" in page(shown)
        assert "/login/?next=/establishments/invitation/" in page(shown)
    refused = client.post("/establishments/invitation/")
    assert refused.status_code == 410
    assert "Cette invitation est destinée à un autre compte." in page(refused)
    assert not Membership.objects.filter(account=invited).exists()
    assert Invitation.objects.get(email="other@hotel.example").state == "pending"
    # The invited account itself, signing in in that same browser, then accepts.
    if role != "anonymous":
        client.logout()
    client.get(link)
    client.post("/login/", {"identifier": "other@hotel.example", "password": PASSWORD})
    accepted = client.post("/establishments/invitation/")
    assert accepted.status_code == 302 and accepted["Location"] == "/portal/"
    assert Membership.objects.get(account=invited).rights == ["reservations", "rates"]


def test_the_other_account_message_in_english(place, owner, existing_invitation):
    _, link = existing_invitation
    client = browser("en")
    client.get(link)
    refused = client.post("/establishments/invitation/")
    assert refused.status_code == 410
    assert "This invitation is for another account." in page(refused)


def test_a_signed_in_stranger_accepting_a_new_user_invitation_gains_nothing(place, owner):
    stranger = member_of(hotel("Hôtel de la Gare", "H002"), "stranger@hotel.example", ALL)
    link = invite(place, owner)
    client = Client()
    client.force_login(stranger.account)
    client.get(link)
    client.post(
        "/establishments/invitation/",
        {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert not Membership.objects.filter(account=stranger.account, establishment=place).exists()
    # The account made is the invited address's, with the invited rights only.
    made = Membership.objects.get(establishment=place, account__email="lea@hotel.example")
    assert made.rights == ["reservations", "rates"]
