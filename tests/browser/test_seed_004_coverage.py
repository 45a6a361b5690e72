"""Issue 7: seed 004 (telehealth) walked in Chromium: coverage found at sign-up, claimed with a
code resent to a work address, and a family member invited by the primary member, who
accepts the invitation."""

import re
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.browser.journey import resume_link, screenshot, submit
from tests.conftest import Inbox
from tests.coverage.helpers import make_record
from tests.factories import PASSWORD as MEMBER_PASSWORD
from tests.factories import make_account
from vestibule.coverage.models import CoverageRecord

pytestmark = pytest.mark.browser

PASSWORD = "une phrase de passe"
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


def sign_up(page: Page, inbox: Inbox, email: str, region: str = "Québec") -> None:
    """« Créer un compte » in `region`, then « Activer » from the e-mail: signed in."""
    page.goto("/flow/registration/start/")
    page.get_by_label("Région", exact=True).select_option(label=region)
    page.get_by_label("Courriel", exact=True).fill(email)
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmez votre mot de passe", exact=True).fill(PASSWORD)
    submit(page, "Créer mon compte")
    expect(page.get_by_test_id("sign-up-received")).to_be_visible()
    [mail] = inbox.wait_for(email)
    page.goto(resume_link(Inbox.text(mail)))
    expect(page).to_have_url(re.compile(r"/portal/$"))


def test_a_covered_person_signing_up_with_the_invited_address_is_linked_at_once(
    page: Page, inbox: Inbox, console_errors: list[str]
):
    make_record(emails={"olivier@example.org": "personal"}, plan="Régime collectif Acme")
    sign_up(page, inbox, "olivier@example.org")

    panel = page.get_by_test_id("coverage-panel")
    expect(panel.get_by_test_id("account-region")).to_have_text("Québec")
    expect(panel.get_by_test_id("coverage-status")).to_contain_text("Vos services sont débloqués")
    expect(panel).to_contain_text("Régime collectif Acme")
    screenshot(page, "coverage-linked-at-sign-up-fr")
    panel.get_by_role("link", name="Voir ma couverture").click()
    expect(page.get_by_test_id("services-unlocked")).to_have_text("Vos services sont débloqués.")
    assert console_errors == []


def test_a_person_signed_up_with_another_address_gets_the_code_at_work_and_enters_it(
    page: Page, inbox: Inbox, console_errors: list[str]
):
    make_record(
        emails={"olivier@example.org": "personal", "o.levesque@acme.example": "work"},
        plan="Régime collectif Acme",
    )
    sign_up(page, inbox, "olivier.levesque@gmail.example")
    panel = page.get_by_test_id("coverage-panel")
    expect(panel).to_contain_text("Votre compte n'est pas encore associé à votre couverture")

    # The portal asks for the « code d'accès »; beside its button, « Renvoyer mon code… ».
    panel.get_by_role("link", name="Saisir mon code d'accès").click()
    expect(page.get_by_role("heading", name="Code d'accès", exact=True)).to_be_visible()
    expect(page.get_by_test_id("claim-advice")).to_contain_text(
        "Vérifiez vos dossiers de courrier indésirable et de spam"
    )
    expect(page.get_by_test_id("support-contact")).to_contain_text("soutien@telesante.example")
    screenshot(page, "coverage-claim-fr")
    page.get_by_role("link", name="Renvoyer mon code d'invitation").click()

    page.get_by_label("Adresse courriel à laquelle vous avez été invité(e)").fill(
        "o.levesque@acme.example"
    )
    submit(page, "M'envoyer un nouveau code")
    expect(page.locator(".messages")).to_contain_text("courrier indésirable et de spam")

    [mail] = inbox.wait_for("o.levesque@acme.example")
    assert mail["Subject"].strip().startswith("Votre code d'accès · ")
    code = CODE.search(Inbox.text(mail)).group(0)
    page.get_by_label("Code d'accès", exact=True).fill(code.lower().replace("-", " "))
    submit(page, "Débloquer mes services")
    expect(page.get_by_test_id("services-unlocked")).to_have_text("Vos services sont débloqués.")
    expect(page.get_by_test_id("coverage-plan")).to_have_text("Régime collectif Acme")
    screenshot(page, "coverage-unlocked-fr")
    assert CoverageRecord.objects.get().account.email == "olivier.levesque@gmail.example"
    assert console_errors == []


def test_a_primary_member_invites_a_family_member_who_signs_up_then_accepts(
    new_page: Callable[[], Page], inbox: Inbox, console_errors: list[str]
):
    """Issue 12, item 8: signing up with the invited address links nothing and tells the
    primary member nothing; the invited person accepts on « Invitation familiale »."""
    nathalie = make_account(
        email="nathalie@example.org", first_name="Nathalie", last_name="Gagnon", region="qc"
    )
    make_record(
        emails={"nathalie@example.org": "personal"},
        plan="Régime familial Boréal",
        first_name="Nathalie",
        last_name="Gagnon",
        allows_dependents=True,
    )
    CoverageRecord.objects.update(account=nathalie, linked_at=timezone.now())

    primary = new_page()
    primary.goto("/login/")
    primary.get_by_label("Identifiant", exact=True).fill("nathalie@example.org")
    primary.get_by_label("Mot de passe", exact=True).fill(MEMBER_PASSWORD)
    submit(primary, "Se connecter")
    primary.get_by_test_id("coverage-panel").get_by_role("link").click()
    form = primary.get_by_test_id("invite-form")
    form.get_by_label("Prénom", exact=True).fill("Félix")
    form.get_by_label("Nom", exact=True).fill("Gagnon")
    form.get_by_label("Courriel", exact=True).fill("felix@example.org")
    submit(primary, "Envoyer l'invitation")
    expect(primary.locator(".messages")).to_contain_text("L'invitation a été envoyée")
    family = primary.get_by_test_id("family")
    expect(family).to_contain_text("Félix Gagnon")
    expect(family).to_contain_text("Invitation envoyée")

    [invitation] = inbox.wait_for("felix@example.org")
    subject = invitation["Subject"].strip()  # a long subject is folded onto its own line
    assert subject.strip().startswith(
        "Nathalie Gagnon vous invite à rejoindre sa couverture familiale · "
    )
    text = Inbox.text(invitation)
    assert "Régime familial Boréal" in text and not CODE.search(text)
    sign_up_link = re.search(r"https?://\S+/flow/registration/start/", text).group(0)

    felix = new_page()
    felix.goto(sign_up_link)
    expect(felix.get_by_role("heading", name="Créer un compte")).to_be_visible()
    inbox.clear()
    sign_up(felix, inbox, "felix@example.org")
    # Signed up with the invited address: not linked, and nothing of Nathalie's coverage yet.
    panel = felix.get_by_test_id("coverage-panel")
    expect(panel.get_by_test_id("coverage-status")).to_contain_text(
        "Votre compte n'est pas encore associé à votre couverture"
    )
    expect(panel).not_to_contain_text("Boréal")
    primary.reload()
    expect(primary.get_by_test_id("family")).to_contain_text("Invitation envoyée")

    notice = panel.get_by_test_id("family-invitation-notice")
    expect(notice).to_contain_text("Un membre vous a invité(e) à rejoindre sa couverture familiale")
    notice.get_by_role("link", name="Voir l'invitation").click()
    shown = felix.get_by_test_id("family-invitation")
    expect(shown).to_contain_text("Nathalie Gagnon vous invite à rejoindre sa couverture familiale")
    expect(shown.get_by_test_id("invitation-plan")).to_have_text("Régime familial Boréal")
    screenshot(felix, "coverage-family-invitation-fr")
    submit(felix, "Accepter")
    expect(felix.get_by_test_id("services-unlocked")).to_have_text("Vos services sont débloqués.")
    expect(felix.locator(".messages")).to_contain_text(
        "Vous avez rejoint la couverture de Nathalie Gagnon"
    )
    expect(felix.get_by_test_id("family")).to_contain_text("Nathalie Gagnon")

    primary.reload()
    expect(primary.get_by_test_id("family")).to_contain_text("Invitation acceptée")
    assert console_errors == []
