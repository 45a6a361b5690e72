"""Seed 000: a dentist's practice and its delegates."""

import pytest
from django.test import Client

from tests.establishments.helpers import invitation_link
from tests.factories import make_member
from tests.flows.walk import answer, last_link, start
from vestibule.accounts.models import Account
from vestibule.establishments.models import Membership

pytestmark = pytest.mark.django_db


def test_an_activated_dentist_administers_a_practice_and_invites_a_delegate(use_profile):
    use_profile("dentists")
    make_member(
        kind="dentist",
        code="12345",
        email="dr.lavoie@example.org",
        first_name="Sophie",
        last_name="Lavoie",
    )
    browser = Client()
    start(browser, "registration")
    answer(
        browser,
        "registration",
        is_member="on",
        email="dr.lavoie@example.org",
        code="12345",
        password="molaire42",
        password_confirm="molaire42",
    )
    dentist_browser = Client()
    dentist_browser.get(last_link("dr.lavoie@example.org", "activation"))
    membership = Membership.objects.get(account__email="dr.lavoie@example.org")
    assert membership.establishment.name == "Cabinet Sophie Lavoie"
    assert membership.establishment.public_id == "12345"
    assert "users" in membership.rights

    dentist_browser.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "Nadia",
            "last_name": "Pelletier",
            "email": "adjointe@example.org",
            "rights": ["agenda"],
        },
    )
    delegate = Client()
    delegate.get(invitation_link("adjointe@example.org"))
    delegate.post(
        "/establishments/invitation/",
        {"password": "rendez-vous", "password_confirm": "rendez-vous"},
    )
    account = Account.objects.get(email="adjointe@example.org")
    assert account.kind == "delegate"
    assert (
        delegate.post("/login/", {"identifier": "adjointe@example.org", "password": "rendez-vous"})[
            "Location"
        ]
        == "/portal/"
    )
    assert delegate.get("/establishments/sections/agenda/").status_code == 200
    assert delegate.get("/establishments/sections/billing/").status_code == 403
    home = delegate.get("/portal/").content.decode()
    assert "Délégué" in home and "Agenda" in home and "Facturation" not in home


def test_profiles_without_rights_have_no_establishment_pages(use_profile, client):
    use_profile("community")
    from tests.factories import make_account

    client.force_login(make_account())
    assert client.get("/establishments/users/").status_code == 404
    assert client.get("/establishments/login-email/").status_code == 404
