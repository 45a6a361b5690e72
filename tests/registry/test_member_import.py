import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError

from vestibule.config import load_profile
from vestibule.registry.models import Member
from vestibule.registry.services import member_import

pytestmark = pytest.mark.django_db
HEADER = "kind,code,email,first_name,last_name,region,active\n"


def run_import(text: str, profile: str = "physicians"):
    return member_import(rows=io.StringIO(HEADER + text), profile=load_profile(profile))


def test_rows_are_created_then_unchanged_when_imported_again():
    rows = (
        "physician,54321,Claire@Example.org,Claire,Fortin,,yes\n"
        "resident, r12345 ,luc@example.org,Luc,Ouellet,,oui\n"
    )
    first = run_import(rows)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (2, 0, 0, [])
    second = run_import(rows)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert Member.objects.get(code="R12345").email == "luc@example.org"
    assert Member.objects.get(code="54321").email == "claire@example.org"


def test_a_changed_row_is_updated_by_code():
    run_import("physician,54321,claire@example.org,Claire,Fortin,,yes\n")
    report = run_import("physician,54321,claire@example.org,Claire,Fortin-Roy,,no\n")
    assert (report.created, report.updated) == (0, 1)
    member = Member.objects.get(code="54321")
    assert member.last_name == "Fortin-Roy"
    assert member.active is False


def test_bad_rows_are_reported_with_line_and_reason_and_never_stop_the_others():
    report = run_import(
        "physician,5432,a@example.org,A,A,,yes\n"  # line 2: code too short
        "surgeon,54322,b@example.org,B,B,,yes\n"  # line 3: unknown kind
        "physician,54323,not-an-email,C,C,,yes\n"  # line 4: bad e-mail
        "physician,54324,d@example.org,D,D,,yes\n"  # line 5: fine
        "resident,R00001,D@example.org,E,E,,yes\n"  # line 6: e-mail of line 5
        "physician,54324,f@example.org,F,F,,yes\n"  # line 7: code repeats line 5
        "physician,,g@example.org,G,G,,yes\n"  # line 8: no code
        "physician,54325,h@example.org,H,H,,maybe\n"  # line 9: bad flag
    )
    reasons = dict(report.rejected)
    assert sorted(reasons) == [2, 3, 4, 6, 7, 8, 9]
    assert "does not match the format of kind 'physician'" in reasons[2]
    assert "unknown kind 'surgeon'" in reasons[3]
    assert "not a valid address" in reasons[4]
    assert "already belongs to member 54324" in reasons[6]
    assert "repeats line 5" in reasons[7]
    assert "code is empty" in reasons[8]
    assert "is not yes/no" in reasons[9]
    assert report.created == 1
    assert list(Member.objects.values_list("code", flat=True)) == ["54324"]


def test_an_email_already_held_by_another_member_is_refused():
    run_import("physician,54321,claire@example.org,Claire,Fortin,,yes\n")
    report = run_import("physician,65432,CLAIRE@example.org,Paul,Gauthier,,yes\n")
    assert report.rejected == [(2, "e-mail claire@example.org already belongs to member 54321")]


def test_the_database_itself_refuses_two_members_with_one_email():
    Member.objects.create(kind="physician", code="54321", email="claire@example.org")
    with pytest.raises(IntegrityError):
        Member.objects.create(kind="physician", code="65432", email="Claire@Example.org")


def test_a_header_without_the_required_columns_is_rejected_whole():
    report = member_import(rows=io.StringIO("code,mail\n1,x\n"), profile=load_profile("default"))
    assert report.rejected == [(1, "header lacks column(s): kind, email")]


def test_the_command_prints_the_report(tmp_path, capsys):
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(
        HEADER
        + "member,123456,marie@example.org,Marie,Tremblay,,yes\nmember,12,x@example.org,,,,\n"
    )
    call_command("import_members", str(csv_file))
    out = capsys.readouterr().out
    assert "line 3: rejected: code '12' does not match the format of kind 'member'" in out
    assert "created 1, updated 0, unchanged 0, rejected 1" in out


def test_the_import_is_audited(tmp_path):
    from vestibule.audit.models import Event

    csv_file = tmp_path / "members.csv"
    csv_file.write_text(HEADER + "member,123456,marie@example.org,Marie,Tremblay,,yes\n")
    call_command("import_members", str(csv_file))
    event = Event.objects.get(kind="registry.imported")
    assert event.data["created"] == 1


def test_a_missing_file_is_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No such file"):
        call_command("import_members", str(tmp_path / "nope.csv"))


def test_an_e_mail_freed_by_a_later_row_of_the_file_can_be_taken_by_an_earlier_member():
    run_import(
        "physician,11111,a@example.org,Anne,A,,yes\n"  # created first: the lower id
        "physician,22222,b@example.org,Bruno,B,,yes\n"
    )
    # Bruno moves to d@ (listed first), then Anne takes b@: the unique index must not trip.
    report = run_import(
        "physician,22222,d@example.org,Bruno,B,,yes\n"
        "physician,11111,b@example.org,Anne,A,,yes\n"
        "physician,33333,new@example.org,Nora,N,,yes\n"
    )
    assert (report.created, report.updated, report.rejected) == (1, 2, [])
    emails = dict(Member.objects.values_list("code", "email"))
    assert emails == {
        "11111": "b@example.org",
        "22222": "d@example.org",
        "33333": "new@example.org",
    }


def test_a_swap_within_one_file_is_refused_row_by_row_and_nothing_is_half_written():
    run_import(
        "physician,11111,a@example.org,Anne,A,,yes\nphysician,22222,b@example.org,Bruno,B,,yes\n"
    )
    report = run_import(
        "physician,11111,b@example.org,Anne,A,,yes\n"
        "physician,22222,a@example.org,Bruno,B,,yes\n"
        "physician,33333,new@example.org,Nora,N,,yes\n"
    )
    assert report.created == 1 and [line for line, _ in report.rejected] == [2, 3]
    emails = dict(Member.objects.values_list("code", "email"))
    assert emails == {
        "11111": "a@example.org",
        "22222": "b@example.org",
        "33333": "new@example.org",
    }


def test_unreadable_lines_are_each_reported_and_never_stop_the_others(
    tmp_path, capsys, use_profile
):
    """Invalid UTF-8, a NUL, an open quote, too long a value or line, a stray comma: each is
    one rejected line, and the lines around them are imported (SQLite and PostgreSQL)."""
    lines = [
        b"physician,11111,a@example.org,Anne,A,,yes",  # 2: fine
        b"physician,22222,b@example.org,Bo\xe9,B,,yes",  # 3: Latin-1, not UTF-8
        b"physician,33333,c@example.org,C\x00,C,,yes",  # 4: NUL
        b'physician,44444,d@example.org,"Dan,D,,yes',  # 5: quote never closed
        b"physician,55555,e@example.org,Eve,E,,yes",  # 6: fine (not swallowed by line 5)
        b"physician,66666,f@example.org," + b"F" * 151 + b",F,,yes",  # 7: over 150
        b"physician,77777,g@example.org,G,G,," + b"y" * 10_000,  # 8: a line of 10 kB
        b"physician,88888,h@example.org,Fortin, Jr,H,,yes",  # 9: a comma without quotes
        "physician,99999,i@example.org,Zoé,Ï,,oui".encode(),  # 10: fine
    ]
    use_profile("physicians")
    csv_file = tmp_path / "members.csv"
    csv_file.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n".join(lines) + b"\r\n")
    call_command("import_members", str(csv_file))
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "line 3: rejected: not valid UTF-8 (save the file as CSV UTF-8)",
        "line 4: rejected: holds a NUL byte (U+0000)",
        "line 5: rejected: a quote is not closed on this line",
        "line 7: rejected: first_name is longer than 150 characters",
        "line 8: rejected: longer than 8192 characters",
        "line 9: rejected: 8 fields where the header has 7 (a comma in a value needs quotes)",
        "created 3, updated 0, unchanged 0, rejected 6",
    ]
    assert list(Member.objects.values_list("code", "first_name")) == [
        ("11111", "Anne"),
        ("55555", "Eve"),
        ("99999", "Zoé"),
    ]


@pytest.mark.parametrize("code", ["١٢٣٤٥", "１２３４５", "۱۲۳۴۵", "5432١"])
def test_unicode_digits_are_no_licence_digits(code):
    report = run_import(f"physician,{code},a@example.org,A,A,,yes\n")
    assert report.created == 0
    assert report.rejected == [(2, f"code {code!r} is not made of ASCII letters and digits")]
    # Nor for a kind whose codes have no format.
    report = run_import(f"member,{code},a@example.org,A,A,,yes\n", profile="community")
    assert report.created == 0 and "ASCII" in report.rejected[0][1]
    assert not Member.objects.exists()
