"""Coverage in the admin console: read-only records, and the audited link of an account."""

import html

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client

from tests.coverage.helpers import make_record, send_code
from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.coverage.models import AccessCode, CoverageRecord
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


@pytest.fixture
def record():
    primary = make_record(
        emails={"nathalie@example.org": "personal"},
        first_name="Nathalie",
        last_name="Gagnon",
        allows_dependents=True,
    )
    return make_record(
        emails={"felix@example.org": "personal", "felix@school.example": "school"},
        first_name="Félix",
        last_name="Gagnon",
        primary=primary,
    )


def link_url(record: CoverageRecord) -> str:
    return f"/admin/coverage/coveragerecord/{record.pk}/link/"


def test_the_list_and_the_record_page_show_e_mails_and_codes_but_no_digest(admin_client, record):
    send_code(record)
    listing = admin_client.get("/admin/coverage/coveragerecord/?q=felix@school.example")
    assert listing.status_code == 200 and "Gagnon" in listing.content.decode()
    page = admin_client.get(f"/admin/coverage/coveragerecord/{record.pk}/change/").content.decode()
    assert "felix@school.example" in page and "felix@example.org" in page
    assert AccessCode.objects.get().token.digest not in page
    assert link_url(record) in page


def test_records_are_neither_added_nor_deleted_by_hand(admin_client, record):
    assert admin_client.get("/admin/coverage/coveragerecord/add/").status_code == 403
    delete = admin_client.get(f"/admin/coverage/coveragerecord/{record.pk}/delete/")
    assert delete.status_code == 403


def test_staff_link_an_account_by_e_mail_and_it_is_audited(admin_client, record):
    felix = make_account(email="felix.perso@example.org", region="on")
    response = admin_client.post(link_url(record), {"email": "Felix.Perso@example.org"})
    assert response.status_code == 302
    record.refresh_from_db()
    felix.refresh_from_db()
    assert record.account == felix and felix.region == "qc"
    event = Event.objects.get(kind="coverage.linked")
    assert event.data["how"] == "staff" and event.data["by"] == "admin@example.com"
    assert Message.objects.get(template="coverage_linked").to == "felix.perso@example.org"


def test_staff_unlink_the_linked_account(admin_client, record):
    felix = make_account(email="felix.perso@example.org", region="qc")
    CoverageRecord.objects.filter(pk=record.pk).update(account=felix)
    page = admin_client.get(link_url(record)).content.decode()
    assert "felix.perso@example.org" in page
    assert admin_client.post(link_url(record), {"unlink": "1"}).status_code == 302
    record.refresh_from_db()
    assert record.account is None
    assert Event.objects.get(kind="coverage.unlinked").account == felix


@pytest.mark.parametrize(
    ("language", "unknown_message", "linked_message"),
    [
        ("fr", "Aucun compte n'a cette adresse courriel.", "déjà associé à une autre couverture"),
        ("en", "No account has this e-mail address.", "already linked to another coverage"),
    ],
)
def test_unknown_or_already_linked_accounts_are_explained(
    admin_client, record, language, unknown_message, linked_message
):
    admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    unknown = admin_client.post(link_url(record), {"email": "nobody@example.org"})
    assert unknown_message in html.unescape(unknown.content.decode())
    linked = make_account(email="nathalie@example.org", region="qc")
    CoverageRecord.objects.filter(first_name="Nathalie").update(account=linked)
    refused = admin_client.post(link_url(record), {"email": "nathalie@example.org"})
    assert linked_message in html.unescape(refused.content.decode())
    record.refresh_from_db()
    assert record.account is None


def test_only_staff_with_the_change_permission_may_link(record):
    felix = make_account(email="felix.perso@example.org", region="qc")
    member = Client()
    member.force_login(felix)
    assert member.post(link_url(record), {"email": felix.email}).status_code == 302  # to login
    viewer = make_account(email="viewer@example.org", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_coveragerecord"))
    staff = Client()
    staff.force_login(viewer)
    assert staff.post(link_url(record), {"email": felix.email}).status_code == 403
    record.refresh_from_db()
    assert record.account is None
