"""A member's data export (Law 25 s. 27, GDPR art. 15 and 20): everything about the member,
nothing about anyone else."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.models import SecurityAnswer, SessionRecord
from vestibule.audit.models import Event
from vestibule.coverage.models import CoverageRecord, FamilyInvitation, InvitedEmail
from vestibule.establishments.models import Establishment, Membership
from vestibule.privacy.services import account_export

pytestmark = pytest.mark.django_db


@pytest.fixture
def marie():
    member = make_member(code="111111", email="marie@example.org", region="mtl")
    return make_account(email="marie@example.org", code="111111", member=member, first_name="Marie")


@pytest.fixture
def paul():
    member = make_member(
        code="222222", email="paul@example.org", first_name="Paul", last_name="Roy"
    )
    return make_account(
        email="paul@example.org", code="222222", member=member, first_name="Paul", last_name="Roy"
    )


@pytest.fixture
def shared(marie, paul):
    """Marie and Paul share an establishment and a family coverage (Paul her dependent),
    and each has security events, some naming the other."""
    hotel = Establishment.objects.create(name="Hôtel du Port", public_id="H001")
    Membership.objects.create(account=marie, establishment=hotel, rights=["users"], is_owner=True)
    Membership.objects.create(account=paul, establishment=hotel, rights=["rates"])
    primary = CoverageRecord.objects.create(
        region="qc",
        plan="Régime familial Boréal",
        first_name="Marie",
        last_name="Tremblay",
        allows_dependents=True,
        account=marie,
        linked_at=timezone.now(),
    )
    InvitedEmail.objects.create(record=primary, region="qc", email="marie@example.org")
    dependent = CoverageRecord.objects.create(
        region="qc",
        plan="Régime familial Boréal",
        first_name="Paul",
        last_name="Roy",
        primary=primary,
        account=paul,
        linked_at=timezone.now(),
    )
    FamilyInvitation.objects.create(
        record=dependent,
        primary=primary,
        email="paul@example.org",
        state=FamilyInvitation.State.ACCEPTED,
    )
    SecurityAnswer.objects.create(account=marie, question="pet", answer_hash="argon2$secret-hash")
    SecurityAnswer.objects.create(account=paul, question="city", answer_hash="argon2$paul-hash")
    SessionRecord.objects.create(
        account=marie,
        key_digest="m" * 64,
        sealed_key="x",
        user_agent="Firefox marie",
        ip_address="192.0.2.1",
    )
    SessionRecord.objects.create(
        account=paul,
        key_digest="p" * 64,
        sealed_key="y",
        user_agent="Safari paul",
        ip_address="198.51.100.2",
    )
    Event.objects.create(kind="sign_in.succeeded", account=marie, ip_address="192.0.2.1")
    Event.objects.create(kind="sign_in.succeeded", account=paul, ip_address="198.51.100.2")
    # Marie, administrator, changed Paul's rights: an event about Paul, naming Marie.
    Event.objects.create(
        kind="membership.rights_changed", account=paul, data={"by": "marie@example.org"}
    )
    # Before she had an account, someone typed Marie's address; and Paul's.
    Event.objects.create(kind="sign_in.failed", subject="marie@example.org", data={"known": False})
    Event.objects.create(
        kind="recovery.unknown", subject="paul@example.org", ip_address="198.51.100.9"
    )
    return hotel


def test_the_export_holds_the_members_data(marie, shared):
    export = account_export(account=marie)
    assert export["account"]["email"] == "marie@example.org"
    assert export["account"]["code"] == "111111"
    assert export["account"]["security_questions"][0]["question"] == "pet"
    assert export["account"]["sessions"][0]["browser"] == "Firefox marie"
    assert export["registry"]["code"] == "111111"
    assert export["registry"]["region"] == "mtl"
    assert export["memberships"] == [
        {
            "establishment": "Hôtel du Port",
            "establishment_id": "H001",
            "rights": ["users"],
            "owner": True,
            "since": export["memberships"][0]["since"],
        }
    ]
    assert export["coverage"]["plan"] == "Régime familial Boréal"
    assert export["coverage"]["primary_member"] is True
    assert export["coverage"]["invited_emails"] == [
        {"email": "marie@example.org", "kind": "personal"}
    ]
    # Her family as her coverage page shows it: a name and the invitation's answer.
    assert export["coverage"]["family"] == [{"name": "Paul Roy", "status": "accepted"}]
    kinds = [(event["kind"], event["ip_address"]) for event in export["events"]]
    assert kinds == [("sign_in.succeeded", "192.0.2.1"), ("sign_in.failed", None)]
    assert export["events"][1]["data"] == {"known": False}
    json.dumps(export)  # JSON-able as it is


def test_the_export_holds_nothing_of_another_member(marie, paul, shared):
    text = json.dumps(account_export(account=marie))
    for others in [
        "paul@example.org",
        "222222",
        "198.51.100",
        "Safari paul",
        "rates",
        "city",
        "membership.rights_changed",
        "recovery.unknown",
    ]:
        assert others not in text, others
    # The same from Paul's side: his family shows his primary member by name; the events
    # about him say who acted on his account (the administrator), nothing else of her.
    export = account_export(account=paul)
    text = json.dumps(export)
    for others in ["111111", "192.0.2", "Firefox marie", '"users"', '"pet"', "sign_in.failed"]:
        assert others not in text, others
    assert export["coverage"]["family"] == [{"name": "Marie Tremblay", "status": "primary"}]
    kinds = [event["kind"] for event in export["events"]]
    assert kinds == ["sign_in.succeeded", "membership.rights_changed", "recovery.unknown"]


def test_the_export_holds_no_password_nor_answer_hash(marie, shared):
    text = json.dumps(account_export(account=marie))
    assert marie.password.split("$")[0] == "argon2"
    assert "argon2" not in text
    assert marie.password not in text
    assert "secret-hash" not in text


def test_an_export_is_audited_with_who_asked(marie, admin_user):
    account_export(account=marie)
    account_export(account=marie, actor=admin_user)
    events = Event.objects.filter(kind="account.exported", account=marie).order_by("pk")
    assert [event.data["by"] for event in events] == ["operator", "admin@example.com"]


def test_an_account_without_registry_nor_coverage_exports_empty_sections():
    account = make_account(email="delegate@example.org")
    export = account_export(account=account)
    assert export["registry"] is None
    assert export["coverage"] is None
    assert export["memberships"] == []


@pytest.fixture
def signed_in(marie, shared):
    client = Client()
    assert (
        client.post("/login/", {"identifier": marie.email, "password": PASSWORD}).status_code == 302
    )
    return client


def test_the_member_downloads_a_json_file_of_their_own_data(signed_in, marie):
    response = signed_in.post("/account/privacy/export/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="vestibule-data-')
    assert "no-store" in response["Cache-Control"]
    export = json.loads(response.content)
    assert export["account"]["email"] == "marie@example.org"
    assert "paul@example.org" not in response.content.decode()
    event = Event.objects.filter(kind="account.exported", account=marie).get()
    assert event.data == {"by": "marie@example.org"}
    assert event.ip_address == "127.0.0.1"


def test_the_download_is_a_post_for_a_signed_in_member(signed_in):
    assert signed_in.get("/account/privacy/export/").status_code == 405
    anonymous = Client().post("/account/privacy/export/")
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
    assert not Event.objects.filter(kind="account.exported").exists()


def test_the_page_offers_both_in_french(signed_in):
    page = signed_in.get("/account/privacy/").content.decode()
    for text in ["Mes données", "Télécharger mes données", "Supprimer mon compte", "Mot de passe"]:
        assert text in page
