"""PUT /api/v1/coverage/{region}/{email}: a record and its dependents, by the import's rules."""

import io
import json

import pytest
from django.test import Client

from tests.api.conftest import bearer
from tests.concurrency import at_once
from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.config import load_profile
from vestibule.coverage.models import CoverageRecord, InvitedEmail
from vestibule.coverage.services import coverage_import

pytestmark = pytest.mark.django_db
URL = "/api/v1/coverage/qc/nathalie@example.org"
FAMILY = {
    "plan": "Boréal",
    "first_name": "Nathalie",
    "last_name": "Gagnon",
    "emails": [
        {"address": "nathalie@example.org"},
        {"address": "n.gagnon@boreal.example", "kind": "work"},
    ],
    "allows_dependents": True,
    "dependents": [
        {"first_name": "Félix", "last_name": "Gagnon", "emails": [{"address": "felix@example.org"}]}
    ],
}


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


@pytest.fixture
def writer(api_client_factory, api_token):
    """(client id, headers) of an API client holding coverage:write."""
    credentials = api_client_factory(scopes=["coverage:write"], name="Insurer")
    token = api_token(["coverage:write"], credentials=credentials)
    return credentials.client_id, bearer(token)


def put(client: Client, body: dict, headers: dict, url: str = URL):
    return client.put(url, json.dumps(body), content_type="application/json", headers=headers)


def emails_of(record: CoverageRecord) -> dict[str, str]:
    return dict(record.emails.values_list("email", "kind"))


def state() -> list[tuple]:
    return sorted(
        (
            r.region,
            r.plan,
            r.first_name,
            r.last_name,
            r.allows_dependents,
            r.primary_id is None,
            *sorted(emails_of(r).items()),
        )
        for r in CoverageRecord.objects.all()
    )


def problem(answer, status: int, slug: str) -> dict:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"/api/v1/problems/{slug}"
    return body


def test_put_creates_the_record_and_its_dependents_audited_with_the_client(client, writer):
    client_id, headers = writer
    answer = put(client, FAMILY, headers)
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["result"] == {"created": 2, "updated": 0, "unchanged": 0, "accounts_linked": 0}
    assert body["emails"] == [
        {"address": "nathalie@example.org", "kind": "personal"},
        {"address": "n.gagnon@boreal.example", "kind": "work"},
    ]
    assert [d["first_name"] for d in body["dependents"]] == ["Félix"]
    nathalie = CoverageRecord.objects.get(first_name="Nathalie")
    assert nathalie.region == "qc" and nathalie.is_primary and nathalie.allows_dependents
    felix = CoverageRecord.objects.get(first_name="Félix")
    assert felix.primary == nathalie and felix.plan == "Boréal"
    event = Event.objects.get(kind="coverage.upserted")
    assert event.subject == "nathalie@example.org"
    assert event.data["by"] == f"api:{client_id}"
    assert (event.data["region"], event.data["created"]) == ("qc", 2)


def test_the_same_put_again_changes_nothing(client, writer):
    _client_id, headers = writer
    assert put(client, FAMILY, headers).status_code == 201
    before = state()
    again = put(client, FAMILY, headers)
    assert again.status_code == 200, again.content
    assert again.json()["result"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "accounts_linked": 0,
    }
    assert state() == before
    assert CoverageRecord.objects.count() == 2 and InvitedEmail.objects.count() == 3


def test_the_api_and_the_import_make_the_same_records(client, writer):
    _client_id, headers = writer
    put(client, FAMILY, headers)
    by_api = state()
    CoverageRecord.objects.all().delete()
    report = coverage_import(
        rows=io.StringIO(
            "region,plan,first_name,last_name,emails,primary_email,allows_dependents\n"
            "qc,Boréal,Nathalie,Gagnon,nathalie@example.org;work:n.gagnon@boreal.example,,yes\n"
            "qc,Boréal,Félix,Gagnon,felix@example.org,nathalie@example.org,\n"
        ),
        profile=load_profile("telehealth"),
    )
    assert report.rejected == []
    assert state() == by_api


def test_a_put_at_a_kept_address_replaces_the_others(client, writer):
    _client_id, headers = writer
    put(client, FAMILY, headers)
    changed = {
        **FAMILY,
        "plan": "Boréal Plus",
        "emails": [{"address": "Nathalie@Example.org", "kind": "school"}],
        "dependents": [],
    }
    answer = put(client, changed, headers)
    assert answer.status_code == 200, answer.content
    assert answer.json()["result"]["updated"] == 1
    nathalie = CoverageRecord.objects.get(first_name="Nathalie")
    assert nathalie.plan == "Boréal Plus"
    assert emails_of(nathalie) == {"nathalie@example.org": "school"}
    # A dependent not listed is left as it is, as the import leaves records missing from a file.
    assert CoverageRecord.objects.get(first_name="Félix").primary == nathalie


def test_an_active_account_of_the_address_is_linked(client, writer):
    _client_id, headers = writer
    account = make_account(email="nathalie@example.org", region="qc")
    answer = put(client, FAMILY, headers)
    assert answer.json()["result"]["accounts_linked"] == 1 and answer.json()["linked"]
    assert CoverageRecord.objects.get(first_name="Nathalie").account == account


def test_no_token_is_401_and_nothing_is_written(client):
    problem(put(client, FAMILY, {}), 401, "unauthenticated")
    assert not CoverageRecord.objects.exists()


def test_a_token_without_coverage_write_is_403(client, api_token):
    token = api_token(["registry:write"])
    body = problem(put(client, FAMILY, bearer(token)), 403, "insufficient-scope")
    assert "coverage:write" in body["detail"]
    assert not CoverageRecord.objects.exists()


def test_a_client_whose_scope_was_taken_back_is_403(client, api_client_factory, api_token):
    credentials = api_client_factory(scopes=["coverage:write"])
    token = api_token(["coverage:write"], credentials=credentials)
    credentials.api_client.scopes = ["registry:write"]
    credentials.api_client.save()
    problem(put(client, FAMILY, bearer(token)), 403, "insufficient-scope")


def test_a_bad_dependent_is_refused_with_the_import_reason_and_nothing_is_written(client, writer):
    _client_id, headers = writer
    bad = {**FAMILY, "dependents": [{**FAMILY["dependents"][0], "emails": [{"address": "x@"}]}]}
    body = problem(put(client, bad, headers), 422, "validation")
    imported = coverage_import(
        rows=io.StringIO("region,plan,first_name,last_name,emails\nqc,Boréal,Félix,Gagnon,x@\n"),
        profile=load_profile("telehealth"),
    )
    assert imported.rejected == [(2, "e-mail 'x@' is not a valid address")]
    assert body["errors"] == [
        {
            "field": "dependents.0",
            "message": "e-mail 'x@' is not a valid address",
            "code": "rejected",
        }
    ]
    # All or nothing: the record, valid on its own, is not written either.
    assert not CoverageRecord.objects.exists()


def test_dependents_of_a_plan_without_dependents_are_refused_as_by_the_import(client, writer):
    _client_id, headers = writer
    body = problem(put(client, {**FAMILY, "allows_dependents": False}, headers), 422, "validation")
    assert body["errors"][0]["message"] == (
        "the primary member of nathalie@example.org does not allow dependents"
    )
    assert not CoverageRecord.objects.exists()


def test_an_unknown_region_is_refused_with_the_import_reason(client, writer):
    _client_id, headers = writer
    body = problem(
        put(client, FAMILY, headers, url="/api/v1/coverage/zz/nathalie@example.org"),
        422,
        "validation",
    )
    assert body["errors"][0] == {
        "field": "",
        "message": "unknown region 'zz' (expected one of: ab, bc, on, qc)",
        "code": "rejected",
    }


def test_the_address_must_be_one_of_the_record_e_mails(client, writer):
    _client_id, headers = writer
    answer = put(client, FAMILY, headers, url="/api/v1/coverage/qc/someone@example.org")
    body = problem(answer, 422, "validation")
    assert body["errors"][0]["message"] == (
        "e-mail 'someone@example.org' is not one of the record's e-mails"
    )
    assert not CoverageRecord.objects.exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Nath\x00alie", "holds a NUL byte (U+0000)"),
        ("Nath\nalie", "holds a control character (U+000A)"),
    ],
)
def test_a_control_character_is_refused_as_on_a_csv_line(client, writer, name, reason):
    _client_id, headers = writer
    body = problem(put(client, {**FAMILY, "first_name": name}, headers), 422, "validation")
    assert body["errors"][0]["message"] == reason
    assert not CoverageRecord.objects.exists()


def test_an_unknown_field_is_refused(client, writer):
    _client_id, headers = writer
    body = problem(put(client, {**FAMILY, "nickname": "Nat"}, headers), 422, "validation")
    assert "nickname" in body["detail"]
    assert not CoverageRecord.objects.exists()


def test_coverage_is_404_when_the_profile_has_no_regions(client, writer, use_profile):
    _client_id, headers = writer
    use_profile("default")
    body = problem(put(client, FAMILY, headers), 404, "not-found")
    assert "lists no regions" in body["detail"]
    assert not CoverageRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_puts_of_a_new_record_at_once_make_one_record(writer):
    _client_id, headers = writer
    answers = at_once(*(lambda: put(Client(), FAMILY, headers) for _ in range(2)))
    statuses = sorted(answer.status_code for answer in answers)
    # The second either saw the first's record (200) or lost the race on an address (409).
    assert statuses in ([200, 201], [201, 409]), [a.content for a in answers]
    assert CoverageRecord.objects.count() == 2 and InvitedEmail.objects.count() == 3
