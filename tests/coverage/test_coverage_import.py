"""`vestibule import-coverage`: records from the covering organisation's CSV, reported per row."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.cli import usage
from vestibule.config import PROFILES_DIR, load_profile
from vestibule.coverage.models import AccessCode, CoverageRecord, InvitedEmail
from vestibule.coverage.services import coverage_import, coverage_invitations_send
from vestibule.notifications.models import Message
from vestibule.notifications.services import messages_send

pytestmark = pytest.mark.django_db
HEADER = "region,plan,first_name,last_name,emails,primary_email,allows_dependents\n"
FAMILY = (
    "qc,Boréal,Nathalie,Gagnon,personal:nathalie@example.org;work:n.gagnon@boreal.example,,yes\n"
    "qc,Boréal,Félix,Gagnon,felix@example.org,nathalie@example.org,\n"
    "on,Acme,Emily,Clark,work:emily@acme.example,,no\n"
)


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


def run_import(text: str, header: str = HEADER, profile: str = "telehealth"):
    return coverage_import(rows=io.StringIO(header + text), profile=load_profile(profile))


def emails_of(record: CoverageRecord) -> dict[str, str]:
    return dict(record.emails.values_list("email", "kind"))


def test_rows_are_created_then_unchanged_when_imported_again():
    first = run_import(FAMILY)
    assert (first.created, first.updated, first.unchanged, first.rejected) == (3, 0, 0, [])
    nathalie = CoverageRecord.objects.get(first_name="Nathalie")
    assert nathalie.is_primary and nathalie.allows_dependents
    assert emails_of(nathalie) == {
        "nathalie@example.org": "personal",
        "n.gagnon@boreal.example": "work",
    }
    felix = CoverageRecord.objects.get(first_name="Félix")
    assert felix.primary == nathalie and not felix.allows_dependents
    assert emails_of(felix) == {"felix@example.org": "personal"}
    assert CoverageRecord.objects.get(first_name="Emily").region == "on"
    second = run_import(FAMILY)
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, [])
    assert CoverageRecord.objects.count() == 3 and InvitedEmail.objects.count() == 4


def test_a_row_updates_the_record_that_has_one_of_its_e_mails():
    run_import(FAMILY)
    report = run_import(
        "qc,Boréal Plus,Nathalie,Gagnon-Roy,school:nathalie@example.org;nat@gmail.example,,yes\n"
    )
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    nathalie = CoverageRecord.objects.get(first_name="Nathalie")
    assert (nathalie.plan, nathalie.last_name) == ("Boréal Plus", "Gagnon-Roy")
    assert emails_of(nathalie) == {
        "nathalie@example.org": "school",
        "nat@gmail.example": "personal",
    }


def test_a_dependent_may_name_a_primary_imported_earlier():
    run_import(FAMILY)
    report = run_import("qc,Boréal,Léa,Gagnon,lea@example.org,N.Gagnon@Boreal.example,no\n")
    assert report.created == 1 and report.rejected == []
    lea = CoverageRecord.objects.get(first_name="Léa")
    assert lea.primary.first_name == "Nathalie"


def test_the_same_address_in_two_regions_makes_two_records():
    report = run_import(
        "qc,Acme,Sam,Roy,sam@example.org,,no\non,Acme Ontario,Sam,Roy,sam@example.org,,no\n"
    )
    assert report.created == 2
    assert set(CoverageRecord.objects.values_list("region", flat=True)) == {"qc", "on"}


def test_a_linked_record_keeps_its_account_when_imported_again():
    run_import(FAMILY)
    account = make_account(email="felix@example.org", region="qc")
    CoverageRecord.objects.filter(first_name="Félix").update(account=account)
    run_import("qc,Boréal,Félix,Gagnon-Tremblay,felix@example.org,nathalie@example.org,no\n")
    felix = CoverageRecord.objects.get(first_name="Félix")
    assert felix.account == account and felix.last_name == "Gagnon-Tremblay"


def test_bad_rows_are_reported_with_line_and_reason_and_never_stop_the_others():
    run_import("qc,Solo,Jean,Roy,jean@example.org,,no\n")
    report = run_import(
        "yk,Acme,A,A,a@example.org,,no\n"  # 2: unknown region
        "qc,,B,B,b@example.org,,no\n"  # 3: no plan
        "qc,Acme,C,C,not-an-email,,no\n"  # 4: bad e-mail
        "qc,Acme,D,D,home:d@example.org,,no\n"  # 5: unknown kind
        "qc,Acme,E,E,e@example.org,,maybe\n"  # 6: bad flag
        "qc,Acme,F,F,f@example.org,,yes\n"  # 7: fine
        "qc,Acme,G,G,F@example.org,,no\n"  # 8: e-mail of line 7
        "qc,Acme,H,H,h@example.org,nobody@example.org,no\n"  # 9: no such primary
        "qc,Acme,I,I,i@example.org,jean@example.org,no\n"  # 10: primary allows none
        "qc,Acme,J,J,j@example.org,f@example.org,yes\n"  # 11: dependent with dependents
        "qc,Acme,K,K,,,no\n"  # 12: no e-mail
        "qc,Acme,L,L,l@example.org,,no\n"  # 13: fine
        "qc,Acme,M,M,jean@example.org;l@example.org,,no\n"  # 14: l repeats line 13
        "qc,Acme,N,N,n@example.org,not-an-email,no\n"  # 15: bad primary_email
        "on,Acme,O,O,o@example.org,f@example.org,no\n"  # 16: primary in another region
    )
    reasons = dict(report.rejected)
    assert sorted(reasons) == [2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 14, 15, 16]
    assert "unknown region 'yk'" in reasons[2]
    assert "plan is empty" in reasons[3]
    assert "'not-an-email' is not a valid address" in reasons[4]
    assert "kind 'home' is not one of: personal, work, school" in reasons[5]
    assert "is not yes/no" in reasons[6]
    assert "f@example.org repeats line 7" in reasons[8]
    assert "nobody@example.org is no invited e-mail of a primary member" in reasons[9]
    assert "does not allow dependents" in reasons[10]
    assert "a dependent cannot allow dependents" in reasons[11]
    assert "emails is empty" in reasons[12]
    assert "l@example.org repeats line 13" in reasons[14]
    assert "primary_email 'not-an-email'" in reasons[15]
    assert "of region on" in reasons[16]
    assert report.created == 2
    assert "line 2: rejected: unknown region" in report.lines()[0]
    assert report.lines()[-1] == "created 2, updated 0, unchanged 0, rejected 13, accounts linked 0"


def test_a_row_whose_e_mails_belong_to_two_records_is_refused():
    run_import("qc,Acme,A,A,a@example.org,,no\nqc,Acme,B,B,b@example.org,,no\n")
    report = run_import("qc,Acme,A,B,a@example.org;b@example.org,,no\n")
    assert report.rejected == [
        (2, "its e-mails belong to different coverage records already imported")
    ]


def test_two_rows_describing_one_record_are_refused():
    run_import("qc,Acme,A,A,a@example.org;a2@example.org,,no\n")
    report = run_import("qc,Acme,A,A,a@example.org,,no\nqc,Acme,A,Bis,a2@example.org,,no\n")
    assert report.rejected == [(3, "describes the same person as line 2")]


def test_a_primary_with_dependents_cannot_become_a_dependent():
    run_import(FAMILY + "qc,Autre,Paul,Roy,paul@example.org,,yes\n")
    report = run_import("qc,Boréal,Nathalie,Gagnon,nathalie@example.org,paul@example.org,no\n")
    assert "has dependents" in dict(report.rejected)[2]


def test_a_header_without_the_required_columns_is_refused():
    report = run_import("qc,Acme\n", header="region,plan\n")
    assert report.rejected == [(1, "header lacks column(s): first_name, last_name, emails")]


def test_a_profile_without_regions_imports_nothing():
    report = run_import(FAMILY, profile="default")
    assert report.rejected == [(1, "profile 'default' lists no regions")]
    assert not CoverageRecord.objects.exists()


def test_the_import_is_audited():
    run_import(FAMILY + "zz,Acme,A,A,a@example.org,,no\n")
    event = Event.objects.get(kind="coverage.imported")
    assert event.data == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}


# --- Invitations ---------------------------------------------------------------------------


def test_invitations_go_to_the_first_address_of_each_record_not_invited_nor_linked(inbox):
    run_import(FAMILY)
    CoverageRecord.objects.filter(first_name="Emily").update(
        account=make_account(email="emily@acme.example", region="on")
    )
    assert coverage_invitations_send() == 2
    assert set(Message.objects.values_list("to", flat=True)) == {
        "nathalie@example.org",
        "felix@example.org",
    }
    felix_mail = Message.objects.get(to="felix@example.org")
    assert felix_mail.template == "coverage_invitation"
    assert "Nathalie Gagnon" in felix_mail.text()
    # Queued for the outbox sender, which delivers them.
    assert messages_send() == (2, 0)
    assert len(inbox.wait_for("nathalie@example.org")) == 1
    assert coverage_invitations_send() == 0
    assert AccessCode.objects.count() == 2
    # The second round sent nothing, and wrote nothing: the worker runs it every hour.
    assert Event.objects.filter(kind="coverage.invitations_sent").count() == 1


def test_the_command_imports_reports_and_sends_invitations(tmp_path):
    path = tmp_path / "coverage.csv"
    path.write_text(HEADER + FAMILY + "qc,Acme,X,X,,,no\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_coverage", str(path), "--send-invitations", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "line 5: rejected: emails is empty"
    assert lines[1] == "created 3, updated 0, unchanged 0, rejected 1, accounts linked 0"
    assert lines[2].startswith("invitations queued 3")
    assert Event.objects.get(kind="coverage.imported").subject == str(path)

    out = io.StringIO()
    call_command("send_coverage_invitations", stdout=out)
    assert out.getvalue().startswith("invitations queued 0")


def test_the_command_refuses_a_missing_file_or_a_profile_without_regions(tmp_path, use_profile):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_coverage", str(tmp_path / "missing.csv"))
    use_profile("default")
    with pytest.raises(CommandError, match="lists no regions"):
        call_command("send_coverage_invitations")


def test_the_demo_file_imports_cleanly():
    path = PROFILES_DIR / "demo" / "telehealth.coverage.csv"
    with path.open(encoding="utf-8", newline="") as rows:
        report = coverage_import(rows=rows, profile=load_profile("telehealth"))
    assert report.rejected == [] and report.created == 5
    assert InvitedEmail.objects.filter(email="patient@example.org", region="qc").exists()


def test_the_vestibule_command_lists_both_coverage_commands():
    assert "  import-coverage " in usage() and "  send-coverage-invitations " in usage()


def test_accounts_activated_before_the_import_are_linked_by_e_mail():
    nathalie = make_account(email="N.Gagnon@Boreal.example", region="qc")
    make_account(email="felix@example.org", region="qc")  # a dependent: support links him
    make_account(email="emily@acme.example", region="qc")  # her coverage is in another region
    report = run_import(FAMILY)
    assert report.linked == 1
    assert report.lines()[-1].endswith("accounts linked 1")
    assert CoverageRecord.objects.get(first_name="Nathalie").account == nathalie
    assert CoverageRecord.objects.get(first_name="Félix").account is None
    assert CoverageRecord.objects.get(first_name="Emily").account is None
    assert run_import(FAMILY).linked == 0  # already linked: nothing more


def test_unreadable_lines_are_each_reported_and_never_stop_the_others(tmp_path):
    """Invalid UTF-8, a NUL, an open quote, too long a value or line, a stray comma: each is
    one rejected line, and the lines around them are imported (SQLite and PostgreSQL)."""
    long_address = "x" * 250 + "@example.org"
    lines = [
        b"qc,Acme,Anne,A,a@example.org,,no",  # 2: fine
        b"qc,Acme,Bo\xe9,B,b@example.org,,no",  # 3: Latin-1, not UTF-8
        b"qc,Acme,C\x00,C,c@example.org,,no",  # 4: NUL
        b'qc,"Acme,Dan,D,d@example.org,,no',  # 5: quote never closed
        b"qc,Acme,Eve,E,e@example.org,,no",  # 6: fine (not swallowed by line 5)
        b"qc," + b"P" * 151 + b",F,F,f@example.org,,no",  # 7: plan over 150
        b"qc,Acme,G,G,g@example.org;" + long_address.encode() + b",,no",  # 8: address over 254
        b"qc,Acme,H,H,h@example.org,,no," + b"y" * 10_000,  # 9: a line of 10 kB
        b"qc,Acme,Fortin, Jr,I,i@example.org,,no",  # 10: a comma without quotes
        "qc,Boréal,Zoé,Ï,z@example.org,,no".encode(),  # 11: fine
    ]
    path = tmp_path / "coverage.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n".join(lines) + b"\r\n")
    out = io.StringIO()
    call_command("import_coverage", str(path), stdout=out)
    assert out.getvalue().splitlines() == [
        "line 3: rejected: not valid UTF-8 (save the file as CSV UTF-8)",
        "line 4: rejected: holds a NUL byte (U+0000)",
        "line 5: rejected: a quote is not closed on this line",
        "line 7: rejected: plan is longer than 150 characters",
        "line 8: rejected: an e-mail is longer than 254 characters",
        "line 9: rejected: longer than 8192 characters",
        "line 10: rejected: 8 fields where the header has 7 (a comma in a value needs quotes)",
        "created 3, updated 0, unchanged 0, rejected 7, accounts linked 0",
    ]
    assert sorted(CoverageRecord.objects.values_list("first_name", flat=True)) == [
        "Anne",
        "Eve",
        "Zoé",
    ]
