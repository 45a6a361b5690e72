"""Seed 001 (hotel extranet): « Ajouter et gérer des utilisateurs », from invitation to removal."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.journey import screenshot, submit
from tests.conftest import Inbox
from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "admin@hotel.example"
USER_EMAIL = "lea.roy@hotel.example"
USER_PASSWORD = "chambre-avec-vue"
INVITATION_LINK = re.compile(r"https?://\S+/establishments/invitations/[\w-]+/")


@pytest.fixture
def administrator(use_profile):
    use_profile("extranet")
    return member_of(hotel(), ADMIN_EMAIL, ALL, first_name="Louise", last_name="Morin")


def sign_in(page: Page, identifier: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Nom d'utilisateur", exact=True).fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    submit(page, "Se connecter")


def open_users_page(page: Page) -> None:
    """« Compte » in the header's name menu, then « Ajouter et gérer des utilisateurs »."""
    page.get_by_test_id("name-menu").click()
    page.locator("header").get_by_role("link", name="Compte", exact=True).click()
    expect(page.get_by_role("heading", name="Compte", exact=True)).to_be_visible()
    page.get_by_role("link", name="Ajouter et gérer des utilisateurs").click()
    expect(page.get_by_role("heading", name="Ajouter et gérer des utilisateurs")).to_be_visible()


def test_an_administrator_invites_a_user_with_two_rights_then_removes_them(
    new_page: Callable[[], Page], inbox: Inbox, administrator, portal_url: str, console_errors
):
    admin = new_page()
    sign_in(admin, ADMIN_EMAIL, PASSWORD)
    expect(admin).to_have_url(f"{portal_url}/portal/")

    # Steps 1-3: Compte → Ajouter et gérer des utilisateurs → Ajouter un utilisateur → Nouvel.
    open_users_page(admin)
    admin.get_by_role("link", name="Ajouter un utilisateur").click()
    admin.get_by_role("link", name="Nouvel utilisateur").click()
    expect(admin.get_by_role("heading", name="Nouvel utilisateur")).to_be_visible()

    # Step 4: the name and the e-mail address, then the next step.
    admin.get_by_label("Prénom", exact=True).fill("Léa")
    admin.get_by_label("Nom", exact=True).fill("Roy")
    admin.get_by_label("Courriel", exact=True).fill(USER_EMAIL)
    submit(admin, "Étape suivante : configuration des droits d'accès")

    # Step 5: two rights ticked, then « Envoyer l'invitation ».
    expect(admin.get_by_role("heading", name="Droits d'accès")).to_be_visible()
    expect(admin.locator("main")).to_contain_text(USER_EMAIL)
    admin.get_by_label("Réservations", exact=True).check()
    admin.get_by_label("Tarifs et disponibilités", exact=True).check()
    submit(admin, "Envoyer l'invitation")
    expect(admin.locator(".messages")).to_contain_text("L'invitation a été envoyée.")
    expect(admin.get_by_test_id("invitations")).to_contain_text(USER_EMAIL)
    screenshot(admin, "establishment-users-fr")

    # The invited person opens the e-mail's link in another browser and chooses a password.
    [mail] = inbox.wait_for(USER_EMAIL)
    assert mail["Subject"].strip().startswith("Invitation à Hôtel du Port · ")
    link = INVITATION_LINK.search(Inbox.text(mail))
    assert link, Inbox.text(mail)
    user = new_page()
    user.goto(link.group(0))
    expect(user).to_have_url(f"{portal_url}/establishments/invitation/")
    expect(user.locator("main")).to_contain_text("Réservations, Tarifs et disponibilités")
    user.get_by_label("Mot de passe", exact=True).fill(USER_PASSWORD)
    user.get_by_label("Confirmez votre mot de passe", exact=True).fill(USER_PASSWORD)
    submit(user, "Accepter l'invitation")
    expect(user).to_have_url(f"{portal_url}/login/")
    expect(user.locator(".messages")).to_contain_text("Votre compte est prêt.")

    # The e-mail is the identifier; the portal shows exactly the two sections granted.
    sign_in(user, USER_EMAIL, USER_PASSWORD)
    expect(user).to_have_url(f"{portal_url}/portal/")
    expect(user.get_by_test_id("name-menu")).to_have_text("Léa Roy")
    sections = user.get_by_test_id("sections").get_by_role("link")
    expect(sections).to_have_text(["Réservations", "Tarifs et disponibilités"])
    expect(user.get_by_role("link", name="Finances")).to_have_count(0)
    user.get_by_role("link", name="Réservations", exact=True).click()
    expect(user.get_by_test_id("section-title")).to_have_text("Réservations")

    # The administrator: « Gérer » next to the user, then « Supprimer l'utilisateur ».
    admin.goto("/portal/")
    open_users_page(admin)
    row = admin.get_by_test_id("users").get_by_role("row").filter(has_text=USER_EMAIL)
    expect(row).to_contain_text("Réservations, Tarifs et disponibilités")
    row.get_by_role("link", name="Gérer").click()
    expect(admin.get_by_role("heading", name="Léa Roy")).to_be_visible()
    submit(admin, "Supprimer l'utilisateur")
    expect(admin.locator("h1")).to_have_text("Supprimer Léa Roy ?")
    submit(admin, "Oui, supprimer l'utilisateur")
    expect(admin.locator(".messages")).to_contain_text("L'utilisateur a été supprimé.")
    expect(admin.get_by_test_id("users")).not_to_contain_text(USER_EMAIL)

    # The removed user had no other establishment: signed out at once, their next page is the
    # sign-in page, and their password no longer opens the portal.
    assert console_errors == []
    user.reload()
    expect(user).to_have_url(re.compile(r"/login/"))
    sign_in(user, USER_EMAIL, USER_PASSWORD)
    expect(user).to_have_url(re.compile(r"/login/"))
    expect(user.locator("main")).to_contain_text("assistance@extranet.example")
    assert console_errors == []


def test_the_portal_home_title_of_an_establishment_member_is_plain_text(page: Page, administrator):
    sign_in(page, ADMIN_EMAIL, PASSWORD)
    expect(page.get_by_test_id("sections")).to_be_visible()
    assert page.title() == "Portail des membres · Extranet hôtelier (démo)"
