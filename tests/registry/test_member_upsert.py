"""The registry's writes beside the CSV import (the API's upsert, batch and deactivation)
apply the import's rules with its words, tell the accounts app, and are read back in a
stable order of change (issue 15)."""

import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.concurrency import at_once
from tests.factories import PASSWORD, make_account, make_member
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.config import load_profile
from vestibule.registry.models import Member
from vestibule.registry.services import (
    BATCH_MAX,
    MemberConflict,
    MemberRefused,
    member_deactivate,
    member_import,
    member_upsert,
    members_batch,
    members_changed_since,
)

pytestmark = pytest.mark.django_db
PHYSICIANS = load_profile("physicians")
DEFAULT = load_profile("default")
HEADER = "kind,code,email,first_name,last_name,region,active\n"
CLAUDE = {"kind": "physician", "email": "Claire@Example.org", "first_name": "Claire"}


def upsert(code: str, **fields) -> tuple[Member, bool]:
    return member_upsert(
        code=code, fields={**CLAUDE, **fields}, profile=PHYSICIANS, actor_label="api:sync"
    )


def import_reasons(csv_rows: str) -> list[str]:
    report = member_import(rows=io.StringIO(HEADER + csv_rows), profile=PHYSICIANS)
    return [reason for _line, reason in report.rejected]


def test_upsert_creates_then_updates_then_leaves_unchanged_and_audits_the_client():
    member, created = upsert(" 54321 ")
    assert created and member.code == "54321" and member.email == "claire@example.org"
    member, created = upsert("54321", last_name="Fortin")
    assert not created and member.last_name == "Fortin"
    upsert("54321", last_name="Fortin")
    events = list(Event.objects.filter(kind__startswith="registry.member_").order_by("pk"))
    assert [(e.kind, e.subject, e.data["by"]) for e in events] == [
        ("registry.member_created", "54321", "api:sync"),
        ("registry.member_updated", "54321", "api:sync"),
    ]


@pytest.mark.parametrize(
    ("code", "fields"),
    [
        ("5432", {}),  # too short for a physician
        ("54321", {"kind": "surgeon"}),
        ("54321", {"email": "not-an-email"}),
        ("54321", {"email": ""}),
        ("54321", {"last_name": "x" * 151}),
        ("١٢٣٤٥", {}),
    ],
)
def test_upsert_refuses_with_the_reason_the_csv_import_gives(code, fields):
    row = {**CLAUDE, **fields}
    line = f"{row['kind']},{code},{row['email']},{row['first_name']},{row.get('last_name', '')},,\n"
    with pytest.raises(MemberRefused) as refused:
        upsert(code, **fields)
    assert [str(refused.value)] == import_reasons(line)
    assert not Member.objects.exists()


def test_upsert_refuses_an_email_another_member_holds_in_the_import_words():
    make_member(kind="physician", code="65432", email="claire@example.org")
    with pytest.raises(MemberRefused) as refused:
        upsert("54321")
    assert str(refused.value) == "e-mail claire@example.org already belongs to member 65432"
    assert [str(refused.value)] == import_reasons(
        "physician,54321,claire@example.org,Claire,,,yes\n"
    )


def test_upsert_setting_a_member_inactive_disables_their_account_and_active_restores_it():
    member, _ = upsert("54321")
    account = make_account(
        email="claire@example.org", member=member, code="54321", activated_at=timezone.now()
    )
    upsert("54321", active=False)
    account.refresh_from_db()
    assert account.status == Account.Status.DISABLED
    assert account.disabled_cause == Account.DisabledCause.REGISTRY
    upsert("54321", active=True)
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE


def test_batch_gives_the_import_report_with_indexes_and_writes_the_good_rows():
    rows = [
        {"kind": "physician", "code": "5432", "email": "a@example.org"},
        {"kind": "surgeon", "code": "54322", "email": "b@example.org"},
        {"kind": "physician", "code": "54324", "email": "d@example.org"},
        {"kind": "resident", "code": "R00001", "email": "D@example.org"},
        {"kind": "physician", "code": "54324", "email": "f@example.org"},
        {"kind": "physician", "code": "54325", "email": "h@example.org", "active": "maybe"},
    ]
    report = members_batch(rows=rows, profile=PHYSICIANS, actor_label="api:sync")
    csv_report = [
        reason.replace("line 4", "index 2")
        for reason in import_reasons(
            "".join(
                f"{r['kind']},{r['code']},{r['email']},,,,{r.get('active', 'yes')}\n" for r in rows
            )
        )
    ]
    assert [index for index, _ in report.rejected] == [0, 1, 3, 4, 5]
    assert [reason for _, reason in report.rejected] == csv_report
    assert "code 54324 repeats index 2" in dict(report.rejected)[4]
    assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
    event = Event.objects.get(kind="registry.batch_imported")
    assert event.data["by"] == "api:sync" and event.data["rejected"] == 5


def test_batch_is_idempotent_and_an_email_freed_in_the_batch_can_be_taken():
    make_member(kind="physician", code="11111", email="one@example.org")
    rows = [
        {"kind": "physician", "code": "22222", "email": "one@example.org", "active": True},
        {"kind": "physician", "code": "11111", "email": "new@example.org", "active": True},
    ]
    first = members_batch(rows=rows, profile=PHYSICIANS)
    # Row 0 is checked before row 1 frees the address: refused, as the import does.
    assert first.rejected == [(0, "e-mail one@example.org already belongs to member 11111")]
    rows.reverse()
    second = members_batch(rows=rows, profile=PHYSICIANS)
    assert (second.created, second.updated, second.rejected) == (1, 0, [])
    third = members_batch(rows=rows, profile=PHYSICIANS)
    assert (third.created, third.updated, third.unchanged, third.rejected) == (0, 0, 2, [])
    assert Member.objects.get(code="22222").email == "one@example.org"


def test_batch_making_a_member_inactive_disables_the_linked_account():
    member = make_member(code="123456", email="marie@example.org")
    account = make_account(member=member, code="123456")
    rows = [{"kind": "member", "code": "123456", "email": "marie@example.org", "active": False}]
    report = members_batch(rows=rows, profile=DEFAULT)
    assert report.notes == ["disabled 1 account(s) of members now inactive"]
    account.refresh_from_db()
    assert account.status == Account.Status.DISABLED


def test_a_batch_over_ten_thousand_rows_is_refused_whole():
    rows = [{"kind": "member", "code": f"{n:06d}", "email": f"m{n}@x.org"} for n in range(10_001)]
    assert BATCH_MAX == 10_000
    with pytest.raises(MemberRefused, match="at most 10000"):
        members_batch(rows=rows, profile=DEFAULT)
    assert not Member.objects.exists()


def test_deactivate_keeps_the_member_and_the_linked_account_can_no_longer_sign_in():
    member = make_member(code="123456", email="marie@example.org")
    make_account(member=member, code="123456", activated_at=timezone.now())
    browser = Client()
    signed_in = browser.post("/login/", {"identifier": "123456", "password": PASSWORD})
    assert signed_in.status_code == 302

    member_deactivate(code="123456", actor_label="api:sync")
    member_deactivate(code="123456", actor_label="api:sync")  # again: nothing more happens

    member.refresh_from_db()
    assert member.active is False
    assert Event.objects.filter(kind="registry.member_deactivated").count() == 1
    refused = Client().post("/login/", {"identifier": "123456", "password": PASSWORD})
    assert refused.context["outcome"].outcome == "disabled"
    with pytest.raises(Member.DoesNotExist):
        member_deactivate(code="999999", actor_label="api:sync")


def test_an_import_that_changes_a_member_moves_it_to_the_end_of_the_changes():
    member_import(
        rows=io.StringIO(HEADER + "member,123456,m@example.org,,,,yes\n"), profile=DEFAULT
    )
    member_import(
        rows=io.StringIO(HEADER + "member,654321,l@example.org,,,,yes\n"), profile=DEFAULT
    )
    _, after_first = members_changed_since(limit=1)
    member_import(
        rows=io.StringIO(HEADER + "member,123456,m@example.org,Marie,,,yes\n"), profile=DEFAULT
    )
    rest, _ = members_changed_since(cursor=after_first, limit=10)
    assert [m.code for m in rest] == ["654321", "123456"]


def test_changes_are_paged_by_cursor_and_every_member_comes_at_least_once():
    for n in range(25):
        make_member(code=f"{n:06d}", email=f"m{n}@example.org")
    seen: list[str] = []
    members, cursor = members_changed_since(limit=10)
    seen += [m.code for m in members]
    # Between pages: one member already read changes, one not yet read changes.
    member_upsert(
        code="000003",
        fields={"kind": "member", "email": "m3@example.org", "first_name": "Three"},
        profile=DEFAULT,
        actor_label="api:sync",
    )
    Member.objects.filter(code="000020").update(last_name="Twenty", updated_at=timezone.now())
    while cursor:
        members, cursor = members_changed_since(cursor=cursor, limit=10)
        seen += [m.code for m in members]
    assert sorted(set(seen)) == [f"{n:06d}" for n in range(25)]
    # Every member once, except the one changed after it was read: again, as changed.
    assert len(seen) == 26 and seen.count("000003") == 2 and seen[-2:] == ["000003", "000020"]


def test_updated_since_keeps_the_members_changed_at_or_after_it_and_a_forged_cursor_is_refused():
    old = make_member(code="123456", email="old@example.org")
    Member.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=2))
    make_member(code="654321", email="new@example.org")
    members, cursor = members_changed_since(updated_since=timezone.now() - timedelta(days=1))
    assert [m.code for m in members] == ["654321"] and cursor == ""
    with pytest.raises(MemberRefused, match="cursor"):
        members_changed_since(cursor="bm90LWEtY3Vyc29y")


@pytest.mark.django_db(transaction=True)
def test_two_clients_giving_one_email_to_two_codes_at_once_make_one_member():
    def give(code: str):
        return member_upsert(
            code=code,
            fields={"kind": "member", "email": "same@example.org"},
            profile=DEFAULT,
            actor_label=f"api:{code}",
        )

    results = at_once(lambda: give("111111"), lambda: give("222222"))
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], MemberConflict), results
    assert Member.objects.count() == 1
