"""Family members: a primary member invites dependents; the support team links latecomers."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.coverage.helpers import last_code, make_record
from tests.factories import make_account
from tests.flows.walk import answer, last_link, start
from vestibule.audit.models import Event
from vestibule.coverage.models import CoverageRecord
from vestibule.coverage.services import (
    AccessCodeInvalid,
    CoverageRefused,
    coverage_claim,
    coverage_link_by_staff,
    coverage_unlink,
    dependent_invite,
)
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
PASSWORD = "une phrase de passe"


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


def test_an_invited_family_member_gets_a_dependent_record_and_an_e_mail_with_a_code(nathalie):
    dependent = invite(nathalie, email=" Felix@Example.org ")
    assert dependent.primary == nathalie.coverage
    assert (dependent.region, dependent.plan) == ("qc", "Régime familial Boréal")
    assert (dependent.first_name, dependent.last_name) == ("Félix", "Gagnon")
    assert not dependent.allows_dependents
    assert list(dependent.emails.values_list("email", flat=True)) == ["felix@example.org"]
    mail = Message.objects.get(template="coverage_invitation")
    assert mail.to == "felix@example.org"
    assert "Nathalie Gagnon" in mail.text()
    assert "/flow/registration/start/" in mail.text()
    assert last_code("felix@example.org")
    event = Event.objects.get(kind="coverage.dependent_invited")
    assert event.account == nathalie and event.subject == "felix@example.org"


def test_the_invitation_is_written_in_the_language_of_the_primary_member(nathalie):
    nathalie.language = "en"
    nathalie.save()
    invite(nathalie)
    mail = Message.objects.get(template="coverage_invitation")
    assert mail.subject == "Your invitation and your access code"
    assert "You are covered as a family member of Nathalie Gagnon" in mail.text()
    assert "in the region Quebec" in mail.text()


def test_the_invited_family_member_signs_up_and_is_linked_as_a_dependent(nathalie):
    dependent = invite(nathalie)
    browser = Client()
    start(browser, "registration")
    answer(
        browser,
        "registration",
        region="qc",
        email="felix@example.org",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    browser.get(last_link("felix@example.org", "activation"))
    dependent.refresh_from_db()
    assert dependent.account.email == "felix@example.org"


def test_a_plan_without_dependents_cannot_invite(nathalie):
    CoverageRecord.objects.update(allows_dependents=False)
    with pytest.raises(CoverageRefused) as refused:
        invite(nathalie)
    assert refused.value.reason == "not_allowed"
    assert not Message.objects.exists()


def test_a_dependent_or_an_unlinked_account_cannot_invite(nathalie):
    dependent = invite(nathalie)
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


def test_inviting_a_pending_family_member_again_sends_a_new_code_without_a_new_record(nathalie):
    first = invite(nathalie)
    again = invite(nathalie, email="FELIX@example.org")
    assert again == first
    assert CoverageRecord.objects.count() == 2
    assert Message.objects.filter(to="felix@example.org").count() == 2


def test_a_family_member_already_linked_is_not_invited_again(nathalie):
    dependent = invite(nathalie)
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


def test_a_family_member_registered_before_the_invitation_is_linked_by_staff(nathalie):
    felix = make_account(email="felix.perso@example.org", region="on", first_name="Félix")
    felix.created_at = timezone.now() - timedelta(days=3)
    felix.save()
    dependent = invite(nathalie)
    felix.region = "qc"
    felix.save()
    with pytest.raises(AccessCodeInvalid) as refused:
        coverage_claim(account=felix, code=last_code("felix@example.org"), flow="f")
    assert refused.value.reason == "family_existing_account"

    staff = make_account(email="soutien@telesante.example", is_staff=True)
    felix.region = "on"
    felix.save()
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


def test_staff_cannot_link_over_an_existing_link(nathalie):
    staff = make_account(email="soutien@telesante.example", is_staff=True)
    dependent = invite(nathalie)
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


def test_a_family_member_with_an_earlier_account_is_not_linked_by_a_region_change(nathalie):
    felix = make_account(email="felix@example.org", region="qc", first_name="Félix")
    felix.created_at = timezone.now() - timedelta(days=3)
    felix.save()
    dependent = invite(nathalie)
    browser = Client()
    browser.force_login(felix)
    browser.post("/coverage/region/", {"region": "qc"})
    dependent.refresh_from_db()
    assert dependent.account is None
