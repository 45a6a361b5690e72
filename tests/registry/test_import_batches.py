"""A large import is read as a stream and written in batches, each its own transaction
(issue 18: a million rows under a minute and 500 MiB, without holding SQLite's one writer
for the whole file). The rules see the whole file all the same: these tests cut a file into
batches of two rows, so each rule is crossed by a batch's edge."""

import io

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import make_account, make_member
from vestibule import batches
from vestibule.config import load_profile
from vestibule.registry import services
from vestibule.registry.models import Member
from vestibule.registry.services import member_import

pytestmark = pytest.mark.django_db
HEADER = "kind,code,email,first_name,last_name,region,active\n"


@pytest.fixture(autouse=True)
def batches_of_two(monkeypatch):
    monkeypatch.setattr(batches, "BATCH", 2)


def run_import(text: str, full: bool = False):
    return member_import(
        rows=io.StringIO(HEADER + text), profile=load_profile("default"), full=full
    )


def row(code: str, email: str, active: str = "yes") -> str:
    return f"member,{code},{email},A,B,,{active}\n"


def test_a_code_repeated_in_a_later_batch_is_refused_with_the_first_line():
    report = run_import(
        row("100001", "a@example.org")  # line 2, batch 1
        + row("100002", "b@example.org")
        + row("100003", "c@example.org")  # batch 2
        + row("100001", "d@example.org")  # line 5: repeats line 2
    )
    assert report.rejected == [(5, "code 100001 repeats line 2")]
    assert (report.created, report.updated) == (3, 0)
    assert Member.objects.get(code="100001").email == "a@example.org"


def test_an_email_taken_in_an_earlier_batch_is_refused_later():
    report = run_import(
        row("100001", "a@example.org")
        + row("100002", "b@example.org")
        + row("100003", "A@example.org")  # batch 2: line 2's address
    )
    assert report.rejected == [(4, "e-mail a@example.org already belongs to member 100001")]


def test_an_email_given_up_in_one_batch_is_free_in_the_next():
    make_member(code="100001", email="a@example.org")
    report = run_import(
        row("100001", "new-a@example.org")  # batch 1: 100001 gives a@ up
        + row("100002", "b@example.org")
        + row("100003", "a@example.org")  # batch 2: and 100003 takes it
    )
    assert report.rejected == []
    assert (report.created, report.updated) == (2, 1)
    assert Member.objects.get(code="100003").email == "a@example.org"


def test_a_full_import_makes_the_absent_inactive_and_adds_up_the_accounts_it_disables():
    kept = [make_member(code=f"20000{i}", email=f"kept{i}@example.org") for i in range(2)]
    for i in range(5):
        member = make_member(code=f"30000{i}", email=f"gone{i}@example.org")
        make_account(member=member, email=member.email, activated_at=timezone.now())
    text = "".join(row(m.code, m.email) for m in kept) + "member,bad,x@example.org,,,,yes\n"
    report = run_import(text, full=True)
    assert report.absent == 5
    assert set(Member.objects.filter(active=True).values_list("code", flat=True)) == {
        m.code for m in kept
    }
    # Five accounts over three batches of absent members: one line, the sum.
    assert report.notes == ["disabled 5 account(s) of members now inactive"]


def test_each_batch_is_written_in_a_transaction_of_its_own(monkeypatch):
    depth = len(connection.atomic_blocks)
    writes: list[tuple[int, int]] = []  # (transactions open, rows created) of each write
    write = services._write

    def watched(to_create, *args, **kwargs):
        writes.append((len(connection.atomic_blocks), len(to_create)))
        return write(to_create, *args, **kwargs)

    monkeypatch.setattr(services, "_write", watched)
    report = run_import("".join(row(f"10000{i}", f"m{i}@example.org") for i in range(5)))
    assert report.created == 5
    assert writes == [(depth + 1, 2), (depth + 1, 2), (depth + 1, 1)]
    assert Member.objects.count() == 5


def test_an_import_stopped_half_way_keeps_whole_batches_and_a_second_run_completes_it(
    monkeypatch,
):
    text = "".join(row(f"10000{i}", f"m{i}@example.org") for i in range(6))
    write = services._write
    calls = []

    def dies_at_the_third_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the machine going down
        return write(*args, **kwargs)

    monkeypatch.setattr(services, "_write", dies_at_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        run_import(text)
    assert Member.objects.count() == 4  # two whole batches, nothing of the third
    monkeypatch.setattr(services, "_write", write)
    report = run_import(text)
    assert (report.created, report.unchanged, report.rejected) == (2, 4, [])


@pytest.mark.parametrize(
    "address",
    [
        "marie@example.org",
        "marie.tremblay+portail@sub.example.qc.ca",
        "user@[192.168.0.1]",
        "user@[IPv6:2001:db8::1]",
        "user@localhost",
        "no-at-sign.example.org",
        "two@@example.org",
        "trailing.dot.@example.org",
        "user@-bad-.example.org",
        "user@exa_mple.org",
        '"quoted local"@example.org',
        "émilie@exemple.québec",
        "user@example",
        "a" * 65 + "@example.org",
    ],
)
def test_the_import_checks_an_address_exactly_as_django_does(address):
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email as django_validate_email

    def verdict(check) -> bool:
        try:
            check(address)
        except ValidationError:
            return False
        return True

    assert verdict(services.validate_email) == verdict(django_validate_email)
