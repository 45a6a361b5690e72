"""Issue 14, seed 001 on a fresh establishment: `vestibule create-establishment`, then the
first administrator's invitation and every users-and-rights journey of the seed in a browser.

« Comment créer un nouveau nom d'utilisateur »: a new user (name, e-mail, rights, invitation);
an existing user of another establishment (identifier and e-mail, « Voir les droits
d'accès »); a new identifier for someone, then « Gérer » → « Supprimer l'utilisateur » on the
old one, which can no longer sign in; and the login e-mail page the « Compte » page links.
"""

import re
from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from tests.browser.journey import screenshot, submit
from tests.conftest import Inbox
from tests.establishments.helpers import hotel, member_of
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.establishments.models import Establishment, Membership

pytestmark = pytest.mark.browser

ADMIN_EMAIL = "anne.gagnon@lac.example"
ADMIN_PASSWORD = "vue sur le lac 2026"
OLD_EMAIL = "lea@lac.example"
NEW_EMAIL = "lea.roy@courriel.example"
LEA_PASSWORD = "chambre-avec-vue"
PAUL_EMAIL = "paul@auberge.example"
PAUL_PASSWORD = "auberge des pins"
INVITATION_LINK = re.compile(r"https?://\S+/establishments/invitations/[\w-]+/")
SUPPORT_EMAIL = "assistance@extranet.example"


@pytest.fixture
def lac(use_profile) -> Establishment:
    """Hôtel du Lac, created as an operator does, with its first administrator invited."""
    use_profile("extranet")
    out = StringIO()
    call_command(
        "create_establishment",
        "--name",
        "Hôtel du Lac",
        "--admin-email",
        ADMIN_EMAIL,
        "--admin-name",
        "Anne Gagnon",
        stdout=out,
    )
    establishment = Establishment.objects.get(name="Hôtel du Lac")
    assert f"created Hôtel du Lac ({establishment.public_id})" in out.getvalue()
    assert Membership.objects.filter(establishment=establishment).count() == 0
    return establishment


@pytest.fixture
def paul(lac) -> Account:
    """A user of another establishment (Auberge des Pins), to add as « Utilisateur existant »."""
    membership = member_of(
        hotel("Auberge des Pins", "A002"),
        PAUL_EMAIL,
        ["reservations"],
        kind="user",
        first_name="Paul",
        last_name="Côté",
        password=PAUL_PASSWORD,
    )
    return membership.account


def sign_in(page: Page, identifier: str, password: str) -> None:
    page.goto("/login/")
    page.get_by_label("Nom d'utilisateur", exact=True).fill(identifier)
    page.get_by_label("Mot de passe", exact=True).fill(password)
    submit(page, "Se connecter")


def invitation_link(inbox: Inbox, address: str, count: int = 1) -> str:
    mail = inbox.wait_for(address, count=count)[count - 1]
    link = INVITATION_LINK.search(Inbox.text(mail))
    assert link, Inbox.text(mail)
    return link.group(0)


def accept_as_new_user(page: Page, link: str, password: str, portal_url: str) -> None:
    """The invitation's link, a password chosen twice, « Accepter l'invitation »."""
    page.goto(link)
    expect(page).to_have_url(f"{portal_url}/establishments/invitation/")
    page.get_by_label("Mot de passe", exact=True).fill(password)
    page.get_by_label("Confirmez votre mot de passe", exact=True).fill(password)
    submit(page, "Accepter l'invitation")
    expect(page).to_have_url(f"{portal_url}/login/")
    expect(page.locator(".messages")).to_contain_text("Votre compte est prêt.")


def open_account(page: Page, account: str = "Compte") -> None:
    page.get_by_test_id("name-menu").click()
    page.locator("header").get_by_role("link", name=account, exact=True).click()
    expect(page.get_by_role("heading", name=account, exact=True)).to_be_visible()


def open_users_page(page: Page) -> None:
    """Seed 001: « Compte » puis « Ajouter et gérer des utilisateurs »."""
    open_account(page)
    page.get_by_role("link", name="Ajouter et gérer des utilisateurs").click()
    expect(page.get_by_role("heading", name="Ajouter et gérer des utilisateurs")).to_be_visible()


def invite_new_user(page: Page, first: str, last: str, email: str, rights: list[str]) -> None:
    """Seed 001, steps 3-5: « Ajouter un utilisateur » → « Nouvel utilisateur » → rights."""
    open_users_page(page)
    page.get_by_role("link", name="Ajouter un utilisateur").click()
    page.get_by_role("link", name="Nouvel utilisateur").click()
    expect(page.get_by_role("heading", name="Nouvel utilisateur")).to_be_visible()
    page.get_by_label("Prénom", exact=True).fill(first)
    page.get_by_label("Nom", exact=True).fill(last)
    page.get_by_label("Courriel", exact=True).fill(email)
    submit(page, "Étape suivante : configuration des droits d'accès")
    expect(page.get_by_role("heading", name="Droits d'accès")).to_be_visible()
    expect(page.locator("main")).to_contain_text(email)
    for right in rights:
        page.get_by_label(right, exact=True).check()
    submit(page, "Envoyer l'invitation")
    expect(page.locator(".messages")).to_contain_text("L'invitation a été envoyée.")
    expect(page.get_by_test_id("invitations")).to_contain_text(email)


def test_a_new_establishment_gets_its_administrator_then_adds_and_removes_users(
    new_page: Callable[[], Page],
    inbox: Inbox,
    lac: Establishment,
    paul: Account,
    portal_url: str,
    console_errors: list[str],
):
    # The first administrator: the operator's invitation, a password, then the e-mail.
    [mail] = inbox.wait_for(ADMIN_EMAIL)
    assert mail["Subject"].strip().startswith("Invitation à Hôtel du Lac · ")
    admin = new_page()
    accept_as_new_user(admin, invitation_link(inbox, ADMIN_EMAIL), ADMIN_PASSWORD, portal_url)
    sign_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    expect(admin).to_have_url(f"{portal_url}/portal/")
    expect(admin.get_by_test_id("name-menu")).to_have_text("Anne Gagnon")
    sections = admin.get_by_test_id("sections").get_by_role("link")
    expect(sections).to_have_count(5)
    open_users_page(admin)
    owner_row = admin.get_by_test_id("users").get_by_role("row").filter(has_text=ADMIN_EMAIL)
    expect(owner_row.get_by_test_id("owner")).to_have_text("(propriétaire)")
    expect(admin.locator("main")).to_contain_text(f"Hôtel du Lac · {lac.public_id}")

    # « Nouvel utilisateur »: Léa, two rights; she accepts and signs in with her e-mail.
    invite_new_user(admin, "Léa", "Roy", OLD_EMAIL, ["Réservations", "Tarifs et disponibilités"])
    screenshot(admin, "new-establishment-users-fr")
    lea = new_page()
    accept_as_new_user(lea, invitation_link(inbox, OLD_EMAIL), LEA_PASSWORD, portal_url)
    sign_in(lea, OLD_EMAIL, LEA_PASSWORD)
    expect(lea).to_have_url(f"{portal_url}/portal/")
    expect(lea.get_by_test_id("sections").get_by_role("link")).to_have_text(
        ["Réservations", "Tarifs et disponibilités"]
    )

    # « Utilisateur existant », in English this once: Paul's identifier and e-mail (he works
    # for Auberge des Pins), « See the access rights », « Send the invitation ».
    admin.get_by_test_id("language-en").click()
    expect(admin.locator("html")).to_have_attribute("lang", "en")
    open_account(admin, "Account")
    admin.get_by_role("link", name="Add and manage users").click()
    admin.get_by_role("link", name="Add a user").click()
    admin.get_by_role("link", name="Existing user").click()
    expect(admin.get_by_role("heading", name="Existing user")).to_be_visible()
    admin.get_by_label("Identifier", exact=True).fill(paul.identifier)
    admin.get_by_label("E-mail", exact=True).fill(PAUL_EMAIL)
    submit(admin, "See the access rights")
    expect(admin.get_by_role("heading", name="Access rights")).to_be_visible()
    admin.get_by_label("Finances", exact=True).check()
    submit(admin, "Send the invitation")
    expect(admin.locator(".messages")).to_contain_text("The invitation has been sent.")
    expect(admin.get_by_test_id("invitations")).to_contain_text(PAUL_EMAIL)
    screenshot(admin, "new-establishment-users-en")
    admin.get_by_test_id("language-fr").click()
    expect(admin.locator("html")).to_have_attribute("lang", "fr")

    # Paul opens the link, signs in with his own account and accepts: both hotels are his.
    paul_page = new_page()
    paul_page.goto(invitation_link(inbox, PAUL_EMAIL))
    paul_page.get_by_role("link", name="Se connecter").click()
    paul_page.get_by_label("Nom d'utilisateur", exact=True).fill(PAUL_EMAIL)
    paul_page.get_by_label("Mot de passe", exact=True).fill(PAUL_PASSWORD)
    submit(paul_page, "Se connecter")
    expect(paul_page).to_have_url(f"{portal_url}/establishments/invitation/")
    submit(paul_page, "Accepter l'invitation")
    expect(paul_page.locator(".messages")).to_contain_text(
        "Vous avez maintenant accès à Hôtel du Lac."
    )
    expect(paul_page.get_by_test_id("sections").get_by_role("link")).to_have_text(["Finances"])
    assert set(paul.memberships.values_list("establishment__name", flat=True)) == {
        "Auberge des Pins",
        "Hôtel du Lac",
    }

    # Léa wants another sign-in e-mail: « Compte » → the login e-mail page says how.
    open_account(lea)
    lea.get_by_role("link", name="Modifier le courriel de connexion").click()
    expect(lea.get_by_role("heading", name="Modifier le courriel de connexion")).to_be_visible()
    expect(lea.locator("main")).to_contain_text(
        "Vous ne pouvez pas modifier l'adresse courriel que vous utilisez pour vous connecter."
    )
    expect(lea.locator("main ol li")).to_have_count(3)
    screenshot(lea, "new-establishment-login-email-fr")

    # The administrator creates the new identifier; Léa accepts it and signs in with it.
    invite_new_user(admin, "Léa", "Roy", NEW_EMAIL, ["Réservations", "Tarifs et disponibilités"])
    lea_new = new_page()
    accept_as_new_user(lea_new, invitation_link(inbox, NEW_EMAIL), LEA_PASSWORD, portal_url)
    sign_in(lea_new, NEW_EMAIL, LEA_PASSWORD)
    expect(lea_new).to_have_url(f"{portal_url}/portal/")
    expect(lea_new.get_by_test_id("name-menu")).to_have_text("Léa Roy")

    # « Gérer » next to the old identifier, then « Supprimer l'utilisateur ».
    admin.goto("/portal/")
    open_users_page(admin)
    users = admin.get_by_test_id("users")
    expect(users).to_contain_text(NEW_EMAIL)
    row = users.get_by_role("row").filter(has_text=OLD_EMAIL)
    row.get_by_role("link", name="Gérer").click()
    expect(admin.get_by_role("heading", name="Léa Roy")).to_be_visible()
    expect(admin.locator("main")).to_contain_text(OLD_EMAIL)
    submit(admin, "Supprimer l'utilisateur")
    expect(admin.locator("h1")).to_have_text("Supprimer Léa Roy ?")
    submit(admin, "Oui, supprimer l'utilisateur")
    expect(admin.locator(".messages")).to_contain_text("L'utilisateur a été supprimé.")
    expect(users).not_to_contain_text(OLD_EMAIL)
    expect(users).to_contain_text(NEW_EMAIL)

    # The old identifier is out: its open session ends, and signing in is refused with the
    # support contact; the new identifier goes on.
    lea.goto("/portal/")
    expect(lea).to_have_url(re.compile(rf"^{re.escape(portal_url)}/login/"))
    expect(lea.get_by_test_id("name-menu")).to_have_count(0)
    sign_in(lea, OLD_EMAIL, LEA_PASSWORD)
    expect(lea).to_have_url(f"{portal_url}/login/")
    expect(lea.locator("main")).to_contain_text("Ce compte est désactivé.")
    expect(lea.locator("main")).to_contain_text(SUPPORT_EMAIL)
    expect(lea.get_by_test_id("name-menu")).to_have_count(0)
    lea_new.reload()
    expect(lea_new.get_by_test_id("sections").get_by_role("link")).to_have_text(
        ["Réservations", "Tarifs et disponibilités"]
    )

    old = Account.objects.get(email=OLD_EMAIL)
    assert old.status == Account.Status.DISABLED
    assert old.disabled_cause == Account.DisabledCause.MEMBERSHIP
    assert Membership.objects.get(account__email=ADMIN_EMAIL, establishment=lac).is_owner
    created = Event.objects.get(kind="establishment.created")
    assert created.data["by"] == "operator" and created.subject == lac.public_id
    assert console_errors == []
