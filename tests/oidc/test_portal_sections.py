"""The portal home lists the sections a member may enter, and only those."""

import pytest
from django.test import Client

from tests.establishments.helpers import hotel, member_of
from tests.factories import make_account
from vestibule.oidc.services import section_add

pytestmark = pytest.mark.django_db


def section(name: str, home_url: str = "", **rules) -> None:
    section_add(
        name=name,
        redirect_uris=[f"https://{name.lower()}.example.org/cb"],
        description_fr=f"Description de {name}",
        description_en=f"About {name}",
        home_url=home_url or f"https://{name.lower()}.example.org/",
        **rules,
    )


def home(client: Client, account) -> str:
    client.force_login(account)
    response = client.get("/portal/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_member_sees_the_sections_open_to_them_in_french(client):
    section("Formation")
    html = home(client, make_account())
    assert "Vos sections réservées aux membres" in html
    assert 'href="https://formation.example.org/"' in html
    assert "Description de Formation" in html and "About Formation" not in html


def test_the_same_list_in_english(english_client):
    section("Formation")
    html = home(english_client, make_account(language="en"))
    assert "Your members' sections" in html
    assert "About Formation" in html and "Description de Formation" not in html


def test_a_section_without_an_address_is_not_listed(client):
    section_add(name="Sans adresse", redirect_uris=["https://x.example.org/cb"])
    html = home(client, make_account())
    assert "Sans adresse" not in html
    assert 'data-testid="member-sections"' not in html


def test_a_section_for_other_member_kinds_is_not_listed(client, use_profile):
    use_profile("physicians")
    section("Residents", allowed_kinds=["resident"])
    section("Tous")
    html = home(client, make_account(kind="physician"))
    assert "Tous" in html and "Residents" not in html
    html = home(Client(), make_account(email="r@example.org", kind="resident"))
    assert "Residents" in html


def test_a_section_requiring_a_right_is_listed_only_to_holders_of_it(client, use_profile):
    use_profile("extranet")
    section("Finances", required_right="finances")
    establishment = hotel()
    holder = member_of(establishment, "compta@example.org", ["finances"], kind="user")
    other = member_of(establishment, "accueil@example.org", ["reservations"], kind="user")
    assert "Finances" in home(client, holder.account)
    assert "Finances" not in home(Client(), other.account)
