"""The member roster's writes (CSV import, the API's upsert, batch and deactivation), the
registry rules they all apply, and the read of the members changed since a point.

Columns (header row required): kind, code, email, first_name, last_name, region, active.
A member set inactive (or, in a full import, absent from the file) can no longer sign in:
the accounts app hears of it through `signals.members_changed` and disables the account.

An import of a million rows reads the file as a stream and writes it in batches of BATCH
rows, each in its own short transaction (SQLite's one writer is held for a batch, never
for the file, so sign-ins go on beside it). Rows are checked against the registry as the
batches before them left it, so the outcome is the one a single pass would give. Rows are
written with plain SQL on Django's connection (new rows with COPY on PostgreSQL): the ORM's
per-field preparation was two-thirds of an import's time (bench/RESULTS.md).
"""

import base64
import contextlib
import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from vestibule import batches
from vestibule.audit.services import event_record
from vestibule.config import Profile
from vestibule.csv_import import CsvFile, value_too_long
from vestibule.registry.identifiers import code_is_ascii, normalise_code, normalise_email
from vestibule.registry.models import Member
from vestibule.registry.signals import Tally, members_changed

COLUMNS = ("kind", "code", "email", "first_name", "last_name", "region", "active")
REQUIRED = ("kind", "code", "email")
FIELDS = ("kind", "email", "first_name", "last_name", "region", "active")
TRUE = {"1", "true", "yes", "oui", "y", "o", ""}
FALSE = {"0", "false", "no", "non", "n"}
FLAGS = TRUE | FALSE
BATCH_MAX = 10_000  # rows of one API batch
# pg_advisory_xact_lock's key for the registry's writers (SQLite's IMMEDIATE transactions
# already run one writer at a time).
REGISTRY_LOCK = 0x7665_7374  # "vest"
# Django's e-mail check, its patterns compiled here: the validator's own are lazy proxies,
# whose indirection cost seconds over a million rows. The same patterns, the same rule.
validate_email = EmailValidator()
for _name in ("user_regex", "domain_regex", "literal_regex"):
    _lazy = getattr(validate_email, _name)
    setattr(validate_email, _name, re.compile(_lazy.pattern, _lazy.flags))
# The columns' sizes in the database: PostgreSQL refuses a longer value, SQLite keeps it.
LENGTHS = {
    name: Member._meta.get_field(name).max_length
    for name in ("kind", "code", "email", "first_name", "last_name", "region")
}


@dataclasses.dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    # A full import: members on file but absent from it, made inactive.
    absent: int = 0
    # What other apps did about it (accounts disabled or enabled again): lines, and
    # tallies summed over the batches.
    _lines: list[str] = dataclasses.field(default_factory=list)
    _tallies: Counter = dataclasses.field(default_factory=Counter)

    def note(self, *items: str | Tally) -> None:
        for item in items:
            if isinstance(item, Tally):
                self._tallies[item.text] += item.n
            else:
                self._lines.append(item)

    @property
    def notes(self) -> list[str]:
        tallies = [text.replace("{n}", str(n)) for text, n in self._tallies.items() if n]
        return [*self._lines, *tallies]

    def lines(self) -> list[str]:
        out = [f"line {line}: rejected: {reason}" for line, reason in self.rejected]
        out.append(
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
            + (f", absent made inactive {self.absent}" if self.absent else "")
        )
        out.extend(self.notes)
        return out


@dataclasses.dataclass(slots=True)
class Row:
    """A member's fields, checked: from a file's row, or as on file (`pk` then set). Not a
    Member: an import holds a batch of these, and the model's construction cost more than
    every check of a row together."""

    kind: str
    code: str
    email: str
    first_name: str
    last_name: str
    region: str
    active: bool
    pk: int | None = None


ROW_FIELDS = tuple(field.name for field in dataclasses.fields(Row) if field.name != "pk")


def _clean_row(row: dict[str, str], profile: Profile) -> Row:
    """A Row from one CSV row, or ValueError naming what is wrong."""
    values = {column: (row.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED:
        if not values[column]:
            raise ValueError(f"{column} is empty")
    if reason := value_too_long(values, LENGTHS):
        raise ValueError(reason)
    kind = profile.kind(values["kind"])
    if kind is None:
        known = ", ".join(k.key for k in profile.member_kinds)
        raise ValueError(f"unknown kind {values['kind']!r} (expected one of: {known})")
    code = normalise_code(values["code"])
    if not code_is_ascii(code):
        raise ValueError(f"code {code!r} is not made of ASCII letters and digits")
    if kind.code_regex and not kind.code_regex.fullmatch(code):
        raise ValueError(f"code {code!r} does not match the format of kind {kind.key!r}")
    email = normalise_email(values["email"])
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"e-mail {values['email']!r} is not a valid address") from None
    active = values["active"].lower()
    if active not in FLAGS:
        raise ValueError(f"active {values['active']!r} is not yes/no")
    return Row(
        kind=kind.key,
        code=code,
        email=email,
        first_name=values["first_name"],
        last_name=values["last_name"],
        region=values["region"],
        active=active in TRUE,
    )


class MemberRefused(ValueError):
    """A member the registry refuses; `str()` is the reason, in the CSV import's words."""


class MemberConflict(MemberRefused):
    """Refused for another member on file: the e-mail address is theirs."""


class _Roster:
    """The registry as a batch of rows finds it: each row, in order, is created, updated,
    unchanged or refused against the members on file and the rows before it. One rule for
    the CSV import, the API's batch and its upsert; `members` must hold every member whose
    code or e-mail the rows name. `seen` (code → row number) carries over from the batches
    before, so a code repeated anywhere in a file is refused."""

    def __init__(
        self, members: Iterable[Row], position: str, seen: dict[str, int] | None = None
    ) -> None:
        self.position = position  # what a row's number is: "line" (CSV) or "index" (JSON)
        self.existing = {m.code: m for m in members}
        self.was_active = {m.pk: m.active for m in self.existing.values()}
        self.owner_of_email = {m.email.lower(): m.code for m in self.existing.values()}
        self.seen = {} if seen is None else seen
        self.to_create: list[Row] = []
        self.to_update: list[Row] = []
        self.moving: list[int] = []  # updated members whose e-mail changes (ids)
        self.unchanged = 0

    def take(self, number: int, member: Row) -> str:
        """ "created", "updated" or "unchanged"; MemberRefused when the row cannot be."""
        if member.code in self.seen:
            raise MemberRefused(
                f"code {member.code} repeats {self.position} {self.seen[member.code]}"
            )
        owner = self.owner_of_email.get(member.email)
        if owner is not None and owner != member.code:
            raise MemberConflict(f"e-mail {member.email} already belongs to member {owner}")
        self.seen[member.code] = number
        current = self.existing.get(member.code)
        if current is None:
            self.to_create.append(member)
            outcome = "created"
        elif all(getattr(current, f) == getattr(member, f) for f in ROW_FIELDS):
            self.unchanged += 1
            return "unchanged"
        else:
            old_email = current.email.lower()
            if old_email != member.email.lower():
                self.moving.append(current.pk)
            if self.owner_of_email.get(old_email) == current.code:
                del self.owner_of_email[old_email]
            for field in ROW_FIELDS:
                setattr(current, field, getattr(member, field))
            self.to_update.append(current)
            outcome = "updated"
        self.owner_of_email[member.email] = member.code
        return outcome

    @transaction.atomic
    def write(self, report: ImportReport, absent: Iterable[int] = ()) -> None:
        """Write the rows taken (and make the members `absent` inactive), in one transaction;
        tell the apps above. The report's counts add up over the batches."""
        now = timezone.now()
        _registry_lock()
        _write(self.to_create, self.to_update, self.moving, now)
        absent = list(absent)
        if absent:
            Member.objects.filter(pk__in=absent).update(active=False, updated_at=now)
        was = self.was_active
        deactivated = [m.pk for m in self.to_update if was[m.pk] and not m.active] + absent
        activated = [m.pk for m in self.to_update if not was[m.pk] and m.active]
        if deactivated or activated:
            for _receiver, items in members_changed.send(
                sender=Member, deactivated=deactivated, activated=activated
            ):
                report.note(*(items or []))
        report.created += len(self.to_create)
        report.updated += len(self.to_update)
        report.unchanged += self.unchanged
        report.absent += len(absent)


def _registry_lock() -> None:
    """One registry writer at a time, so two API clients never both take one e-mail or
    code (the unique index would turn the second into an error for its whole batch)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTRY_LOCK])


def _row_text(row: Mapping[str, Any]) -> dict[str, str]:
    """A JSON row as the CSV import reads its lines: text, `active` as yes/no."""
    text = {}
    for column, value in row.items():
        if isinstance(value, bool):
            value = "yes" if value else "no"
        text[column] = "" if value is None else str(value)
    return text


LOOKUP = 500


def _members_named(codes: set[str], emails: set[str]) -> list[Row]:
    """The members holding one of `codes` or `emails` (lower-case), LOOKUP of each a query.

    In SQL of its own: the ORM prepared each of a batch's 10,000 parameters one by one, a
    fifth of an import's time. `LOWER(email)` is the unique index's expression. On
    PostgreSQL, two arrays rather than a thousand parameters for the driver and the server
    to parse, and never a sequential read: every lookup goes through a unique index, but on
    a table an import is filling the planner judged a read of the whole table cheaper
    (lower() counted at almost nothing): 15–40 ms a lookup between 25,000 and 150,000
    members, against 3–4 ms through the indexes. LOOKUP codes and e-mails a query: with
    5,000 of each (before sequential reads were turned off here) the planner read the whole
    table at any size."""
    found: dict[int, Row] = {}
    codes_, emails_ = sorted(codes), sorted(emails)
    table = connection.ops.quote_name(Member._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in ("id", *ROW_FIELDS))
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET enable_seqscan = off")
        try:
            for start in range(0, max(len(codes_), len(emails_)), LOOKUP):
                some_codes = codes_[start : start + LOOKUP] or [""]
                some_emails = emails_[start : start + LOOKUP] or [""]
                if postgresql:
                    condition = "code = ANY(%s) OR LOWER(email) = ANY(%s)"
                    parameters = [some_codes, some_emails]
                else:
                    code_marks = ", ".join(["%s"] * len(some_codes))
                    email_marks = ", ".join(["%s"] * len(some_emails))
                    condition = f"code IN ({code_marks}) OR LOWER(email) IN ({email_marks})"
                    parameters = [*some_codes, *some_emails]
                cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE {condition}",  # noqa: S608
                    parameters,
                )
                for pk, kind, code, email, first, last, region, active in cursor.fetchall():
                    found[pk] = Row(kind, code, email, first, last, region, bool(active), pk=pk)
        finally:
            if postgresql:
                # After a failed lookup inside a transaction the RESET fails too; the
                # transaction's rollback then undoes the SET, and the first error is the one
                # that is raised.
                with contextlib.suppress(DatabaseError):
                    cursor.execute("RESET enable_seqscan")
    return list(found.values())


def member_import(
    *, rows: IO[bytes] | IO[str], profile: Profile, full: bool = False
) -> ImportReport:
    """Upsert members by code. Idempotent; bad rows are reported and skipped, never half-written.

    `full`: the file is the whole roster, so a member on file whose code it lacks is made
    inactive (the organisation removed the code). A code on a rejected line counts as
    present; a line unreadable enough to hide its code makes none inactive.

    The file is read as a stream, BATCH lines at a time: each line is checked (encoding and
    CSV syntax, format, kind, sizes, e-mail unique across the file and the registry), then
    the batch's accepted rows are written in one transaction. An import stopped half-way
    leaves whole batches written; running it again completes it. The absent members of a
    full import are made inactive once the whole file is read. `rows` is best the file
    opened in binary: a line that is not UTF-8 is then one rejected line.
    """
    report = ImportReport()
    file = CsvFile(rows)
    missing = [c for c in REQUIRED if c not in file.columns]
    if file.error or missing:
        report.rejected.append((1, file.error or f"header lacks column(s): {', '.join(missing)}"))
        return report

    seen: dict[str, int] = {}  # every code taken so far, with its line
    statistics = _Statistics()
    refused_codes: set[str] = set()  # the codes of rejected lines: present all the same
    unreadable = 0
    for batch in batches.in_batches(file):
        cleaned: list[tuple[int, Row]] = []
        for record in batch:
            code = (record.values.get("code") or "").strip()
            try:
                if record.error:
                    raise ValueError(record.error)
                cleaned.append((record.line, _clean_row(record.values, profile)))
            except ValueError as error:
                report.rejected.append((record.line, str(error)))
                if record.error or not code:
                    unreadable += 1
                else:
                    refused_codes.add(normalise_code(code))
        _batch_write(cleaned, report, seen, refused_codes, position="line")
        statistics.update(report.created)

    if full and not unreadable:
        _absent_deactivate(seen, refused_codes, report)
    elif full:
        report.note(
            f"full import: {unreadable} line(s) without a readable code, "
            "so no absent member was made inactive"
        )
    report.rejected.sort()
    return report


class _Statistics:
    """PostgreSQL's planner reads a table's statistics, which autovacuum refreshes only now
    and then: an import filling an empty registry saw each batch's lookup read the whole
    table (about 160 s in all for a million rows). So the import analyses the table itself
    each time it has doubled."""

    def __init__(self) -> None:
        self.analysed_at = 0

    def update(self, created: int) -> None:
        if connection.vendor != "postgresql" or created < max(2 * self.analysed_at, 10_000):
            return
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Member._meta.db_table)}")
        self.analysed_at = created


def _batch_write(
    cleaned: list[tuple[int, Row]],
    report: ImportReport,
    seen: dict[str, int],
    refused_codes: set[str],
    position: str,
) -> None:
    """Take a batch of checked rows against the registry as it is now, and write it."""
    on_file = _members_named({m.code for _, m in cleaned}, {m.email for _, m in cleaned})
    roster = _Roster(on_file, position=position, seen=seen)
    for number, member in cleaned:
        try:
            roster.take(number, member)
        except MemberRefused as refused:
            report.rejected.append((number, str(refused)))
            refused_codes.add(member.code)
    roster.write(report)


def _absent_deactivate(seen: dict[str, int], refused_codes: set[str], report: ImportReport) -> None:
    """A full import's end: the active members whose code the file lacks become inactive,
    a batch per transaction (their ids are read first: no cursor stays open across writes)."""
    active = Member.objects.filter(active=True).order_by("pk").values_list("pk", "code")
    absent = [
        pk
        for pk, code in active.iterator(chunk_size=batches.BATCH)
        if code not in seen and code not in refused_codes
    ]
    for batch in batches.in_batches(absent):
        _Roster((), position="line").write(report, absent=batch)


def members_batch(
    *, rows: list[Mapping[str, Any]], profile: Profile, actor_label: str = "operator"
) -> ImportReport:
    """The CSV import's upsert for a JSON list of rows (the API's batch): the same checks and
    report, rows numbered by their index from 0. Idempotent; a refused row is reported and
    the others written. At most BATCH_MAX rows, in one transaction."""
    if len(rows) > BATCH_MAX:
        raise MemberRefused(f"a batch holds at most {BATCH_MAX} members, not {len(rows)}")
    report = ImportReport()
    cleaned: list[tuple[int, Row]] = []
    for index, row in enumerate(rows):
        try:
            cleaned.append((index, _clean_row(_row_text(row), profile)))
        except ValueError as error:
            report.rejected.append((index, str(error)))
    with transaction.atomic():
        _registry_lock()  # before the members on file are read
        _batch_write(cleaned, report, {}, set(), position="index")
        event_record(
            "registry.batch_imported",
            subject=f"{len(rows)} member(s)",
            by=actor_label,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
        )
    report.rejected.sort()
    return report


@transaction.atomic
def member_upsert(
    *, code: str, fields: Mapping[str, Any], profile: Profile, actor_label: str
) -> tuple[Member, bool]:
    """Create or update the member `code` with `fields` (the CSV columns but code); (the
    member, created). MemberRefused with the CSV import's reason when a rule refuses it."""
    try:
        member = _clean_row({**_row_text(fields), "code": code}, profile)
    except ValueError as error:
        raise MemberRefused(str(error)) from None
    _registry_lock()
    roster = _Roster(_members_named({member.code}, {member.email}), position="line")
    outcome = roster.take(1, member)
    roster.write(ImportReport())
    saved = Member.objects.get(code=member.code)
    if outcome != "unchanged":
        event_record(f"registry.member_{outcome}", subject=saved.code, by=actor_label)
    return saved, outcome == "created"


@transaction.atomic
def member_deactivate(*, code: str, actor_label: str) -> Member:
    """Make the member inactive (never deleted: their account's history stays); the linked
    account can no longer sign in. Member.DoesNotExist for an unknown code."""
    _registry_lock()
    member = Member.objects.select_for_update().get(code=normalise_code(code))
    if member.active:
        member.active = False
        member.save(update_fields=["active", "updated_at"])
        members_changed.send(sender=Member, deactivated=[member.pk], activated=[])
        event_record("registry.member_deactivated", subject=member.code, by=actor_label)
    return member


def _cursor_encode(member: Member) -> str:
    position = f"{member.updated_at.isoformat()}|{member.pk}"
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        updated_at = datetime.fromisoformat(moment)
        if updated_at.tzinfo is None:
            raise ValueError
        return updated_at, int(pk)
    except ValueError:
        raise MemberRefused("cursor is not one this API gave") from None


def members_changed_since(
    *, updated_since: datetime | None = None, cursor: str = "", limit: int = 100
) -> tuple[list[Member], str]:
    """Members changed at or after `updated_since`, oldest change first, `limit` at a time;
    (members, the cursor of the next page or "" after the last). The order, on (updated_at,
    id), is stable: a member changed while a client pages comes again, later, as changed."""
    members = Member.objects.order_by("updated_at", "pk")
    if updated_since is not None:
        try:
            # In UTC: PostgreSQL holds no offset beyond ±15:59, which ISO 8601 allows.
            updated_since = updated_since.astimezone(UTC)
        except OverflowError:
            raise MemberRefused("updated_since is out of range") from None
        members = members.filter(updated_at__gte=updated_since)
    if cursor:
        updated_at, pk = _cursor_decode(cursor)
        members = members.filter(Q(updated_at__gt=updated_at) | Q(updated_at=updated_at, pk__gt=pk))
    page = list(members[: limit + 1])
    if len(page) > limit:
        return page[:limit], _cursor_encode(page[limit - 1])
    return page, ""


def _write(to_create: list[Row], to_update: list[Row], moving: list[int], now: datetime) -> None:
    # An e-mail one member gives up may be taken by another in the same batch. The unique
    # index is checked row by row, so the members whose e-mail changes first step aside to
    # an address of their own, then all take their new one; new members come last.
    table = connection.ops.quote_name(Member._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in (*ROW_FIELDS, "updated_at"))
    assigned = ", ".join(
        f"{connection.ops.quote_name(c)} = %s" for c in (*ROW_FIELDS, "updated_at")
    )
    stamp = connection.ops.adapt_datetimefield_value(now)
    # The SQL below is built from table and column names only; every value is a parameter.
    with connection.cursor() as cursor:
        if moving:
            cursor.executemany(
                f"UPDATE {table} SET email = %s WHERE id = %s",  # noqa: S608
                [(f"moving-{pk}@vestibule.invalid", pk) for pk in moving],
            )
        if to_update:
            cursor.executemany(
                f"UPDATE {table} SET {assigned} WHERE id = %s",  # noqa: S608
                [(*(getattr(m, f) for f in ROW_FIELDS), stamp, m.pk) for m in to_update],
            )
        ordered = sorted(to_create, key=lambda m: m.code)  # the unique index's order
        if to_create and connection.vendor == "postgresql":
            # COPY: the rows stream in one command, with no statement to parse or plan.
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for m in ordered:
                    copy.write_row((*(getattr(m, f) for f in ROW_FIELDS), stamp))
        elif to_create:
            # Several rows a statement: an executemany prepares each row's statement alone.
            row_marks = "(" + ", ".join(["%s"] * (len(ROW_FIELDS) + 1)) + ")"
            for start in range(0, len(ordered), LOOKUP):
                some = ordered[start : start + LOOKUP]
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                    + ", ".join([row_marks] * len(some)),
                    [
                        value
                        for m in some
                        for value in (*(getattr(m, f) for f in ROW_FIELDS), stamp)
                    ],
                )
