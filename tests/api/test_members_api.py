"""/api/v1/members: the organisation's systems keep the roster in step with the CSV import's
rules and words, behind registry:read and registry:write (issue 15)."""

import hashlib
import io
import json
import random
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from tests.api.conftest import bearer
from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.config import get_profile
from vestibule.registry.models import Member
from vestibule.registry.services import member_import

pytestmark = pytest.mark.django_db
API = "/api/v1"
HEADER = "kind,code,email,first_name,last_name,region,active\n"
MARIE = {"kind": "member", "email": "marie@example.org", "first_name": "Marie"}
PROBLEM = "application/problem+json"


@pytest.fixture
def writer(api_client_factory, api_token):
    """(client id, token) of a client holding registry:write."""
    credentials = api_client_factory(scopes=["registry:write"], name="Membership system")
    return credentials.client_id, api_token(["registry:write"], credentials=credentials)


@pytest.fixture
def reader(api_token) -> str:
    return api_token(["registry:read"])


def put(client: Client, code: str, body: dict, token: str):
    return client.put(
        f"{API}/members/{code}", json.dumps(body), "application/json", headers=bearer(token)
    )


def batch(client: Client, rows: list[dict], token: str):
    return client.post(
        f"{API}/members:batch",
        json.dumps({"members": rows}),
        "application/json",
        headers=bearer(token),
    )


def csv_reasons(line: str) -> list[str]:
    report = member_import(rows=io.StringIO(HEADER + line), profile=get_profile())
    return [reason for _line, reason in report.rejected]


def test_put_creates_201_then_updates_200_audited_with_the_client(client, writer, reader):
    client_id, token = writer
    created = put(client, "123456", MARIE, token)
    assert created.status_code == 201, created.content
    assert created.json()["code"] == "123456" and created.json()["active"] is True
    updated = put(client, "123456", {**MARIE, "last_name": "Tremblay"}, token)
    assert updated.status_code == 200 and updated.json()["last_name"] == "Tremblay"
    kinds = Event.objects.filter(kind__startswith="registry.member_").order_by("pk")
    assert [(e.kind, e.data["by"]) for e in kinds] == [
        ("registry.member_created", f"api:{client_id}"),
        ("registry.member_updated", f"api:{client_id}"),
    ]
    read = client.get(f"{API}/members/123456", headers=bearer(reader))
    assert read.status_code == 200 and read.json()["last_name"] == "Tremblay"


@pytest.mark.parametrize(
    ("code", "fields"),
    [("12345", {}), ("ABCDEF", {}), ("123456", {"kind": "surgeon"}), ("123456", {"email": "x"})],
)
def test_a_refused_member_is_a_422_problem_with_the_csv_import_reason(client, writer, code, fields):
    row = {**MARIE, **fields}
    answer = put(client, code, row, writer[1])
    assert answer.status_code == 422 and answer["Content-Type"] == PROBLEM
    line = f"{row['kind']},{code},{row['email']},{row['first_name']},,,yes\n"
    assert [answer.json()["detail"]] == csv_reasons(line)
    assert answer.json()["type"].endswith("/validation")
    assert not Member.objects.exists()


def test_an_email_another_member_holds_is_a_409_conflict_in_the_import_words(client, writer):
    make_member(code="654321", email="marie@example.org")
    answer = put(client, "123456", MARIE, writer[1])
    assert answer.status_code == 409 and answer["Content-Type"] == PROBLEM
    assert answer.json()["detail"] == "e-mail marie@example.org already belongs to member 654321"


@pytest.mark.parametrize(
    "body",
    [
        {**MARIE, "licence": "123456"},  # an unknown field
        {**MARIE, "active": "no"},  # a boolean as text
        {**MARIE, "email": 42},
    ],
)
def test_a_body_with_an_unknown_or_mistyped_field_is_refused_whole(client, writer, body):
    answer = put(client, "123456", body, writer[1])
    assert answer.status_code == 422 and answer["Content-Type"] == PROBLEM
    answer = batch(client, [{**body, "code": "123456"}], writer[1])
    assert answer.status_code == 422
    assert not Member.objects.exists()


OPERATIONS = [
    ("put", "/members/123456", MARIE, "registry:write"),
    ("post", "/members:batch", {"members": []}, "registry:write"),
    ("delete", "/members/123456", None, "registry:write"),
    ("get", "/members/123456", None, "registry:read"),
    ("get", "/members", None, "registry:read"),
]


def call(client: Client, method: str, path: str, body, headers: dict):
    if body is None:
        return getattr(client, method)(API + path, headers=headers)
    return getattr(client, method)(
        API + path, json.dumps(body), "application/json", headers=headers
    )


@pytest.mark.parametrize(("method", "path", "body", "scope"), OPERATIONS)
def test_each_operation_needs_its_scope_and_a_live_token(
    client, api_token, method, path, body, scope
):
    make_member(code="123456", email="marie@example.org")
    other = "registry:read" if scope == "registry:write" else "registry:write"
    refused = call(client, method, path, body, bearer(api_token([other, "accounts:read"])))
    assert refused.status_code == 403 and refused.json()["type"].endswith("/insufficient-scope")
    assert call(client, method, path, body, {}).status_code == 401

    token = api_token([scope])
    AccessToken.objects.filter(token_checksum=hashlib.sha256(token.encode()).hexdigest()).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    expired = call(client, method, path, body, bearer(token))
    assert expired.status_code == 401 and expired["Content-Type"] == PROBLEM

    # Nothing refused above wrote anything.
    assert Member.objects.filter(code="123456", last_name="Tremblay", active=True).exists()
    assert not Event.objects.filter(kind__startswith="registry.").exists()
    allowed = call(client, method, path, body, bearer(api_token([scope])))
    assert allowed.status_code in {200, 204}, allowed.content


def test_batch_reports_each_refused_row_by_index_and_writes_the_others(client, writer):
    rows = [
        {"kind": "member", "code": "12345", "email": "a@example.org"},
        {"kind": "member", "code": "123456", "email": "b@example.org"},
        {"kind": "member", "code": "123456", "email": "c@example.org"},
        {"kind": "member", "code": "654321", "email": "B@example.org"},
    ]
    answer = batch(client, rows, writer[1])
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": [
            {"index": 0, "reason": "code '12345' does not match the format of kind 'member'"},
            {"index": 2, "reason": "code 123456 repeats index 1"},
            {"index": 3, "reason": "e-mail b@example.org already belongs to member 123456"},
        ],
        "notes": [],
    }
    assert Event.objects.get(kind="registry.batch_imported").data["by"] == f"api:{writer[0]}"


def test_batch_over_ten_thousand_members_is_refused_whole(client, writer):
    rows = [{"code": f"{n:06d}"} for n in range(10_001)]
    answer = batch(client, rows, writer[1])
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "members"


def test_a_batch_body_over_five_mebibytes_is_a_413_problem_and_one_under_is_read(client, writer):
    long_name = "x" * 600
    rows = [{"code": f"{n:06d}", "first_name": long_name} for n in range(9_000)]
    answer = batch(client, rows, writer[1])
    assert answer.status_code == 413 and answer["Content-Type"] == PROBLEM
    # Far over the API's 64 KiB for other bodies, under the batch's 5 MiB: read and checked.
    answer = batch(client, rows[:5_000], writer[1])
    assert answer.status_code == 200 and len(answer.json()["rejected"]) == 5_000


def roster_csv(count: int) -> tuple[str, list[dict]]:
    """`count` rows, a few of them bad, as a CSV file and as the batch's JSON rows."""
    chooser = random.Random(15)
    codes = chooser.sample(range(1_000_000), count)
    lines, rows = [], []
    for n, code in enumerate(codes):
        row = {
            "kind": "member",
            "code": f"{code:06d}",
            "email": f"Member{code:06d}@Bench.example",
            "first_name": chooser.choice(["Amélie", "Benoît", " Chloé "]),
            "last_name": chooser.choice(["Tremblay", "Côté", ""]),
            "region": chooser.choice(["Montréal", "Estrie", ""]),
            "active": n % 7 != 0,
        }
        if n % 1000 == 1:
            row["code"] = f"{code:05d}X"  # refused: not 6 digits
        if n % 1000 == 2:
            row["email"] = rows[0]["email"].lower()  # refused: the e-mail of row 0
        rows.append(row)
        values = [row[c] for c in ("kind", "code", "email", "first_name", "last_name", "region")]
        lines.append(",".join([*values, "yes" if row["active"] else "no"]))
    return HEADER + "\n".join(lines) + "\n", rows


def roster() -> list[tuple]:
    return list(
        Member.objects.order_by("code").values_list(
            "kind", "code", "email", "first_name", "last_name", "region", "active"
        )
    )


def test_a_batch_of_ten_thousand_members_equals_the_csv_import_of_the_same_rows(client, writer):
    text, rows = roster_csv(10_000)
    imported = member_import(rows=io.StringIO(text), profile=get_profile())
    by_import = roster()
    Member.objects.all().delete()

    answer = batch(client, rows, writer[1])
    assert answer.status_code == 200, answer.content[:500]
    by_batch = roster()

    assert len(by_import) == imported.created == answer.json()["created"] == 9980
    assert by_batch == by_import
    assert [(i["index"] + 2, i["reason"]) for i in answer.json()["rejected"]] == imported.rejected

    again = batch(client, rows, writer[1]).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 9980)
    assert roster() == by_import


def test_delete_makes_the_member_inactive_and_the_account_unable_to_sign_in(client, writer):
    member = make_member(code="123456", email="marie@example.org")
    make_account(member=member, code="123456", activated_at=timezone.now())
    assert (
        Client().post("/login/", {"identifier": "123456", "password": PASSWORD}).status_code == 302
    )

    answer = client.delete(f"{API}/members/123456", headers=bearer(writer[1]))

    assert answer.status_code == 204
    member.refresh_from_db()
    assert member.active is False  # kept, never deleted
    account = Account.objects.get(member=member)
    assert account.status == Account.Status.DISABLED
    assert Event.objects.get(kind="account.disabled").data["by"] == f"api:{writer[0]}"
    refused = Client().post("/login/", {"identifier": "123456", "password": PASSWORD})
    assert refused.context["outcome"].outcome == "disabled"
    missing = client.delete(f"{API}/members/999999", headers=bearer(writer[1]))
    assert missing.status_code == 404 and missing["Content-Type"] == PROBLEM


def test_pages_give_every_member_once_while_members_change_between_pages(client, writer, reader):
    for n in range(30):
        make_member(code=f"{n:06d}", email=f"m{n}@example.org")
    seen: list[str] = []
    url = f"{API}/members?limit=7"
    changed = False
    while url:
        page = client.get(url, headers=bearer(reader))
        assert page.status_code == 200, page.content
        seen += [m["code"] for m in page.json()["members"]]
        if not changed:
            # After the first page: one member not read yet changes (read once, later),
            # one member already read changes (read again, as changed).
            put(client, "000020", {"kind": "member", "email": "m20@example.org"}, writer[1])
            put(client, "000002", {"kind": "member", "email": "new2@example.org"}, writer[1])
            changed = True
        cursor = page.json()["next"]
        url = f"{API}/members?limit=7&cursor={cursor}" if cursor else ""
    assert sorted(set(seen)) == [f"{n:06d}" for n in range(30)]
    assert [c for c in seen if seen.count(c) > 1] == ["000002", "000002"]
    assert seen[-2:] == ["000020", "000002"]


def test_updated_since_must_name_its_time_zone_and_a_forged_cursor_is_a_422(client, reader):
    make_member(code="123456", email="marie@example.org")
    since = (timezone.now() - timedelta(minutes=1)).isoformat()
    found = client.get(f"{API}/members", {"updated_since": since}, headers=bearer(reader))
    assert [m["code"] for m in found.json()["members"]] == ["123456"]
    naive = client.get(f"{API}/members?updated_since=2026-01-01T00:00:00", headers=bearer(reader))
    assert naive.status_code == 422
    forged = client.get(f"{API}/members?cursor=bm9wZQ", headers=bearer(reader))
    assert (
        forged.status_code == 422 and forged.json()["detail"] == "cursor is not one this API gave"
    )
