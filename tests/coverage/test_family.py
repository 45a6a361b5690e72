"""Family members: a primary member invites, the invited person accepts or declines (issue 12,
item 8); the support team links latecomers."""

import html
import importlib
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.coverage.helpers import make_record, send_code
from tests.factories import make_account
from tests.flows.walk import answer, last_link, start
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.coverage.family import (
    dependent_invite,
    family_invitation_accept,
    family_invitation_decline,
)
from vestibule.coverage.models import AccessCode, CoverageRecord, FamilyInvitation, InvitedEmail
from vestibule.coverage.services import (
    CoverageRefused,
    code_resend,
    coverage_link_by_staff,
    coverage_unlink,
)
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
PASSWORD = "une phrase de passe"
CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
PAGE = "/coverage/family/invitation/"


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


@pytest.fixture
def nathalie():
    """A primary member whose family plan allows dependents, linked to her account."""
    account = make_account(
        email="nathalie@example.org", first_name="Nathalie", last_name="Gagnon", region="qc"
    )
    record = make_record(
        emails={"nathalie@example.org": "personal"},
        plan="Régime familial Boréal",
        first_name="Nathalie",
        last_name="Gagnon",
        allows_dependents=True,
    )
    CoverageRecord.objects.filter(pk=record.pk).update(account=account, linked_at=timezone.now())
    return account


def invite(primary, email="felix@example.org", first_name="Félix", last_name="Gagnon"):
    return dependent_invite(
        primary_account=primary, first_name=first_name, last_name=last_name, email=email
    )


def signed_in(account: Account, language: str = "fr") -> Client:
    browser = Client()
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    browser.force_login(account)
    return browser


def sign_up(email: str, region: str = "qc") -> Client:
    """« Créer un compte » with `email`, then « Activer » from the e-mail: signed in."""
    browser = Client()
    start(browser, "registration")
    answer(
        browser,
        "registration",
        region=region,
        email=email,
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    browser.get(last_link(email, "activation"))
    return browser


def page(response) -> str:
    return html.unescape(response.content.decode())


def family_status(primary: Account) -> str:
    """What the primary member's « Couverture » page says of the family."""
    text = page(signed_in(primary).get("/coverage/"))
    return re.sub(r"\s+", " ", re.search(r'data-testid="family".*?</table>', text, re.S).group(0))


# --- Inviting -------------------------------------------------------------------------------


def test_an_invitation_makes_a_dependent_record_that_no_address_or_code_can_link(nathalie):
    invitation = invite(nathalie, email=" Felix@Example.org ")
    dependent = invitation.record
    assert dependent.primary == nathalie.coverage
    assert (dependent.region, dependent.plan) == ("qc", "Régime familial Boréal")
    assert (dependent.first_name, dependent.last_name) == ("Félix", "Gagnon")
    assert not dependent.allows_dependents
    assert (invitation.email, invitation.state) == ("felix@example.org", "invited")
    # Nothing to link by: no invited address (activation), no code (« Code d'accès »).
    assert not dependent.emails.exists()
    assert not AccessCode.objects.exists()
    mail = Message.objects.get(template="coverage_family_invitation")
    assert mail.to == "felix@example.org"
    assert mail.subject.strip().startswith(
        "Nathalie Gagnon vous invite à rejoindre sa couverture familiale · "
    )
    assert "Régime familial Boréal" in mail.text()
    assert PAGE in mail.text() and "/flow/registration/start/" in mail.text()
    assert not CODE.search(mail.text())
    event = Event.objects.get(kind="coverage.dependent_invited")
    assert event.account == nathalie and event.subject == "felix@example.org"


def test_the_invitation_is_written_in_the_language_of_the_primary_member(nathalie):
    nathalie.language = "en"
    nathalie.save()
    invite(nathalie)
    mail = Message.objects.get(template="coverage_family_invitation")
    assert mail.subject.strip().startswith(
        "Nathalie Gagnon invites you to join their family coverage · "
    )
    assert "Nathalie Gagnon invites you to join their family coverage (Régime familial" in (
        mail.text()
    )
    assert "Nothing is linked until you accept" in mail.text()


def test_a_plan_without_dependents_cannot_invite(nathalie):
    CoverageRecord.objects.update(allows_dependents=False)
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie)
    assert refused.value.reason == "not_allowed"
    assert not Message.objects.exists()


def test_a_dependent_or_an_unlinked_account_cannot_invite(nathalie):
    dependent = invite(nathalie).record
    felix = make_account(email="felix@example.org", region="qc")
    CoverageRecord.objects.filter(pk=dependent.pk).update(account=felix)
    for account in [felix, make_account(email="alone@example.org", region="qc")]:
        with pytest.raises(CoverageRefused) as refused:
            invite(account, email="someone@example.org")
        assert refused.value.reason == "not_allowed"


def test_an_address_already_covered_cannot_be_invited(nathalie):
    make_record(emails={"felix@example.org": "work"}, first_name="Félix")
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie)
    assert refused.value.reason == "already_covered"
    with pytest.raises(CoverageRefused):
        invite(nathalie, email="nathalie@example.org")
    nathalie.email = "nathalie.gagnon@gmail.example"
    nathalie.save()
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie, email="Nathalie.Gagnon@gmail.example")
    assert refused.value.reason == "already_covered"


def test_inviting_an_unanswered_address_again_resends_the_same_invitation(nathalie):
    first = invite(nathalie)
    again = invite(nathalie, email="FELIX@example.org")
    assert again == first
    assert CoverageRecord.objects.count() == 2
    assert Message.objects.filter(to="felix@example.org").count() == 2
    assert Event.objects.filter(kind="coverage.dependent_invited_again").count() == 1


def test_a_family_member_already_linked_is_not_invited_again(nathalie):
    dependent = invite(nathalie).record
    CoverageRecord.objects.filter(pk=dependent.pk).update(
        account=make_account(email="felix@example.org", region="qc")
    )
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie)
    assert refused.value.reason == "already_covered"


def test_invitations_are_throttled_per_primary_member(nathalie):
    for n in range(10):
        invite(nathalie, email=f"child{n}@example.org")
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie, email="child10@example.org")
    assert refused.value.reason == "throttled"


# --- The attack: a primary member invites a stranger's address ------------------------------


def test_a_stranger_signing_up_with_the_invited_address_is_not_linked_and_nothing_is_told(
    nathalie,
):
    invitation = invite(nathalie, email="inconnu@example.org", first_name="Paul")
    before = family_status(nathalie)
    assert "Invitation envoyée" in before

    stranger = sign_up("inconnu@example.org")
    account = Account.objects.get(email="inconnu@example.org")
    invitation.record.refresh_from_db()
    assert invitation.record.account is None
    assert not Event.objects.filter(kind="coverage.linked").exists()
    # The primary member's page is the same as before the sign-up: « Invitation envoyée ».
    assert family_status(nathalie) == before
    # The stranger sees an invitation waiting, and nothing of the primary member but there.
    home = page(stranger.get("/portal/"))
    assert "Un membre vous a invité(e) à rejoindre sa couverture familiale" in home
    assert "Nathalie" not in home and "Boréal" not in home
    coverage = page(stranger.get("/coverage/"))
    assert "Code d'accès" in coverage and "Nathalie" not in coverage
    assert "Boréal" not in coverage
    assert account.region == "qc"


def test_the_invited_person_accepts_and_is_linked_then_the_primary_sees_accepted(nathalie):
    invitation = invite(nathalie)
    felix_browser = sign_up("felix@example.org", region="on")
    felix = Account.objects.get(email="felix@example.org")

    shown = page(felix_browser.get(PAGE))
    assert "Nathalie Gagnon vous invite à rejoindre sa couverture familiale" in shown
    assert "Régime familial Boréal" in shown and "Accepter" in shown and "Refuser" in shown
    response = felix_browser.post(PAGE, {"invitation": invitation.pk, "answer": "accept"})
    assert response["Location"] == "/coverage/"

    invitation.refresh_from_db()
    felix.refresh_from_db()
    assert invitation.record.account == felix and invitation.state == "accepted"
    assert invitation.answered_by == felix
    # An account belongs to its coverage's region; the address now belongs to the record.
    assert felix.region == "qc"
    assert list(invitation.record.emails.values_list("email", flat=True)) == ["felix@example.org"]
    unlocked = page(felix_browser.get("/coverage/"))
    assert "Vous avez rejoint la couverture de Nathalie Gagnon" in unlocked
    assert "Vos services sont débloqués" in unlocked and "Nathalie Gagnon" in unlocked
    assert "Invitation acceptée" in family_status(nathalie)
    linked = Event.objects.get(kind="coverage.linked")
    assert linked.data["how"] == "family_invitation" and linked.data["region_before"] == "on"
    accepted = Event.objects.get(kind="coverage.family_invitation_accepted")
    assert accepted.account == felix and accepted.data["invitation"] == invitation.pk


def test_a_declined_invitation_never_links_and_is_final(nathalie):
    invitation = invite(nathalie, email="inconnu@example.org")
    stranger_browser = sign_up("inconnu@example.org")
    stranger = Account.objects.get(email="inconnu@example.org")
    response = stranger_browser.post(PAGE, {"invitation": invitation.pk, "answer": "decline"})
    assert response["Location"] == PAGE
    assert "Vous avez refusé l'invitation" in page(stranger_browser.get(PAGE))
    assert "Vous n'avez aucune invitation familiale" in page(stranger_browser.get(PAGE))

    stranger_browser.post(PAGE, {"invitation": invitation.pk, "answer": "accept"})
    with pytest.raises(CoverageRefused) as refused:
        family_invitation_accept(account=stranger, invitation_id=invitation.pk)
    assert refused.value.reason == "answered"
    invitation.refresh_from_db()
    assert invitation.state == "declined" and invitation.record.account is None
    assert "Invitation refusée" in family_status(nathalie)
    # The primary member cannot send it again, and the family's other members never see it.
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie, email="inconnu@example.org")
    assert refused.value.reason == "declined"
    declined = Event.objects.get(kind="coverage.family_invitation_declined")
    assert declined.account == stranger


def test_an_invitation_is_answered_only_by_the_account_of_its_address(nathalie):
    invitation = invite(nathalie)
    intruder = make_account(email="intrus@example.org", region="qc")
    browser = signed_in(intruder)
    assert "Nathalie" not in page(browser.get(PAGE))
    browser.post(PAGE, {"invitation": invitation.pk, "answer": "accept"})
    assert "pas adressée à votre compte" in page(browser.get(PAGE))
    for answer_with in (family_invitation_accept, family_invitation_decline):
        with pytest.raises(CoverageRefused) as refused:
            answer_with(account=intruder, invitation_id=invitation.pk)
        assert refused.value.reason == "not_found"
    invitation.refresh_from_db()
    assert invitation.state == "invited" and invitation.record.account is None


def test_asking_for_a_code_at_the_invited_address_sends_none(nathalie):
    invite(nathalie, email="inconnu@example.org")
    Message.objects.all().delete()
    stranger = make_account(email="autre@example.org", region="qc")
    assert code_resend(email="inconnu@example.org", region="qc", account=stranger) is True
    assert not Message.objects.exists() and not AccessCode.objects.exists()


def test_an_account_already_covered_can_only_decline(nathalie):
    make_account(email="felix@example.org", region="qc")
    felix = Account.objects.get(email="felix@example.org")
    make_record(emails={"felix@work.example": "work"}, first_name="Félix")
    CoverageRecord.objects.filter(emails__email="felix@work.example").update(account=felix)
    invitation = invite(nathalie)
    shown = page(signed_in(felix).get(PAGE))
    assert "déjà associé à une couverture" in shown and 'value="accept"' not in shown
    with pytest.raises(CoverageRefused) as refused:
        family_invitation_accept(account=felix, invitation_id=invitation.pk)
    assert refused.value.reason == "account_linked"
    family_invitation_decline(account=felix, invitation_id=invitation.pk)


@pytest.mark.parametrize(
    "language, texts",
    [
        (
            "fr",
            [
                "Invitation familiale",
                "Nathalie Gagnon vous invite à rejoindre sa couverture familiale.",
                "Membre principal",
                "Régime ou groupe",
                "Si vous acceptez, votre compte est associé à cette couverture",
                ">Accepter<",
                ">Refuser<",
            ],
        ),
        (
            "en",
            [
                "Family invitation",
                "Nathalie Gagnon invites you to join their family coverage.",
                "Primary member",
                "Plan or group",
                "If you accept, your account is linked to this coverage",
                ">Accept<",
                ">Decline<",
            ],
        ),
    ],
)
def test_the_invitation_page_names_the_primary_member_and_the_plan(nathalie, language, texts):
    invite(nathalie)
    felix = make_account(email="felix@example.org", region="qc", language=language)
    shown = page(signed_in(felix, language).get(PAGE))
    for text in texts:
        assert text in shown
    assert "Régime familial Boréal" in shown


def test_a_double_submitted_accept_links_once_and_answers_both(nathalie):
    invitation = invite(nathalie)
    felix = make_account(email="felix@example.org", region="qc")
    browser = signed_in(felix)
    first = browser.post(PAGE, {"invitation": invitation.pk, "answer": "accept"})
    second = browser.post(PAGE, {"invitation": invitation.pk, "answer": "accept"})
    assert first["Location"] == second["Location"] == "/coverage/"
    assert CoverageRecord.objects.get(account=felix) == invitation.record
    assert Event.objects.filter(kind="coverage.family_invitation_accepted").count() == 1
    assert Event.objects.filter(kind="coverage.linked").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_accepts_at_once_link_once(use_profile, nathalie):
    from tests.concurrency import at_once

    invitation = invite(nathalie)
    felix = make_account(email="felix@example.org", region="qc")
    results = at_once(
        *(
            lambda: family_invitation_accept(account=felix, invitation_id=invitation.pk)
            for _ in range(2)
        )
    )
    assert results == [invitation.record, invitation.record]
    assert Event.objects.filter(kind="coverage.family_invitation_accepted").count() == 1
    assert CoverageRecord.objects.get(account=felix) == invitation.record


# --- The support team ------------------------------------------------------------------------


def test_a_family_member_registered_with_another_address_is_linked_by_staff(nathalie):
    felix = make_account(email="felix.perso@example.org", region="on", first_name="Félix")
    felix.created_at = timezone.now() - timedelta(days=3)
    felix.save()
    dependent = invite(nathalie).record
    # The invitation is for felix@example.org: this account sees nothing to answer.
    assert "Nathalie" not in page(signed_in(felix).get(PAGE))

    staff = make_account(email="soutien@telesante.example", is_staff=True)
    coverage_link_by_staff(account=felix, record=dependent, staff=staff)
    dependent.refresh_from_db()
    felix.refresh_from_db()
    assert dependent.account == felix and felix.region == "qc"
    event = Event.objects.get(kind="coverage.linked")
    assert event.account == felix
    assert event.data["how"] == "staff" and event.data["by"] == "soutien@telesante.example"
    assert event.data["region_before"] == "on"
    mail = Message.objects.get(template="coverage_linked")
    assert mail.to == "felix.perso@example.org"
    assert "Régime familial Boréal" in mail.text()
    assert "Invitation acceptée" in family_status(nathalie)


def test_staff_cannot_link_over_an_existing_link(nathalie):
    staff = make_account(email="soutien@telesante.example", is_staff=True)
    dependent = invite(nathalie).record
    other = make_account(email="other@example.org", region="qc")
    with pytest.raises(CoverageRefused) as refused:
        coverage_link_by_staff(account=nathalie, record=dependent, staff=staff)
    assert refused.value.reason == "account_linked"
    coverage_link_by_staff(account=other, record=dependent, staff=staff)
    with pytest.raises(CoverageRefused) as refused:
        coverage_link_by_staff(
            account=make_account(email="third@example.org", region="qc"),
            record=dependent,
            staff=staff,
        )
    assert refused.value.reason == "record_linked"


def test_staff_unlink_frees_the_record_and_is_audited(nathalie):
    staff = make_account(email="soutien@telesante.example", is_staff=True)
    record = nathalie.coverage
    assert coverage_unlink(record=record, staff=staff) is True
    record.refresh_from_db()
    assert record.account is None and record.linked_at is None
    event = Event.objects.get(kind="coverage.unlinked")
    assert event.account == nathalie and event.data["by"] == staff.email
    assert coverage_unlink(record=record, staff=staff) is False


def test_an_invited_address_is_not_linked_by_a_region_change(nathalie):
    felix = make_account(email="felix@example.org", region="on", first_name="Félix")
    dependent = invite(nathalie).record
    signed_in(felix).post("/coverage/region/", {"region": "qc"})
    dependent.refresh_from_db()
    assert dependent.account is None


# --- Invitations sent before acceptance was required -----------------------------------------


def test_pending_invitations_made_before_this_change_wait_for_acceptance(nathalie):
    """The migration: a dependent invited earlier (audit event, address, code) is closed."""
    primary = nathalie.coverage
    dependent = make_record(
        emails={"felix@example.org": "personal"}, first_name="Félix", primary=primary
    )
    send_code(dependent)
    Event.objects.create(
        kind="coverage.dependent_invited",
        account=nathalie,
        subject="felix@example.org",
        data={"record": dependent.pk},
    )
    imported = make_record(emails={"lea@example.org": "personal"}, primary=primary)
    migration = importlib.import_module("vestibule.coverage.migrations.0002_family_invitation")
    migration.pending_invitations_close(apps, None)
    invitation = FamilyInvitation.objects.get()
    assert (invitation.record, invitation.email, invitation.state) == (
        dependent,
        "felix@example.org",
        "invited",
    )
    assert not InvitedEmail.objects.filter(record=dependent).exists()
    assert not AccessCode.objects.filter(record=dependent).exists()
    assert InvitedEmail.objects.filter(record=imported).exists()  # from a file: untouched
