"""The member roster's writes (CSV import, the API's upsert, batch and deactivation), the
registry rules they all apply, and the read of the members changed since a point.

Columns (header row required): kind, code, email, first_name, last_name, region, active.
A member set inactive (or, in a full import, absent from the file) can no longer sign in:
the accounts app hears of it through `signals.members_changed` and disables the account.
"""

import base64
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from vestibule.audit.services import event_record
from vestibule.config import Profile
from vestibule.csv_import import CsvFile, value_too_long
from vestibule.registry.identifiers import code_is_ascii, normalise_code, normalise_email
from vestibule.registry.models import Member
from vestibule.registry.signals import members_changed

COLUMNS = ("kind", "code", "email", "first_name", "last_name", "region", "active")
REQUIRED = ("kind", "code", "email")
FIELDS = ("kind", "email", "first_name", "last_name", "region", "active")
TRUE = {"1", "true", "yes", "oui", "y", "o", ""}
FALSE = {"0", "false", "no", "non", "n"}
BATCH = 2000
BATCH_MAX = 10_000  # rows of one API batch
# pg_advisory_xact_lock's key for the registry's writers (SQLite's IMMEDIATE transactions
# already run one writer at a time).
REGISTRY_LOCK = 0x7665_7374  # "vest"
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
    # What other apps did about it (accounts disabled or enabled again), one line each.
    notes: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"line {line}: rejected: {reason}" for line, reason in self.rejected]
        out.append(
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
            + (f", absent made inactive {self.absent}" if self.absent else "")
        )
        out.extend(self.notes)
        return out


def _clean_row(row: dict[str, str], profile: Profile) -> Member:
    """A Member (unsaved) from one CSV row, or ValueError naming what is wrong."""
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
    if active not in TRUE | FALSE:
        raise ValueError(f"active {values['active']!r} is not yes/no")
    return Member(
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
    """The registry as a set of rows finds it: each row, in order, is created, updated,
    unchanged or refused against the members on file and the rows before it. One rule for
    the CSV import, the API's batch and its upsert; `members` must hold every member whose
    code or e-mail the rows name."""

    def __init__(self, members: Iterable[Member], position: str) -> None:
        self.position = position  # what a row's number is: "line" (CSV) or "index" (JSON)
        self.existing = {m.code: m for m in members}
        self.was_active = {m.pk: m.active for m in self.existing.values()}
        self.owner_of_email = {m.email.lower(): m.code for m in self.existing.values()}
        self.seen: dict[str, int] = {}
        self.to_create: list[Member] = []
        self.to_update: list[Member] = []
        self.moving: list[Member] = []  # updated members whose e-mail changes
        self.unchanged = 0

    def take(self, number: int, member: Member) -> str:
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
        elif all(getattr(current, f) == getattr(member, f) for f in FIELDS):
            self.unchanged += 1
            return "unchanged"
        else:
            old_email = current.email.lower()
            if old_email != member.email.lower():
                self.moving.append(current)
            if self.owner_of_email.get(old_email) == current.code:
                del self.owner_of_email[old_email]
            for field in FIELDS:
                setattr(current, field, getattr(member, field))
            self.to_update.append(current)
            outcome = "updated"
        self.owner_of_email[member.email] = member.code
        return outcome

    def write(self, report: ImportReport, absent: Sequence[Member] = ()) -> None:
        """Write the rows taken (and make `absent` inactive); tell the apps above."""
        now = timezone.now()
        for member in self.to_update:
            member.updated_at = now  # bulk_update skips auto_now; GET /members reads it
        with transaction.atomic():
            _write(self.to_create, self.to_update, self.moving)
            if absent:
                Member.objects.filter(pk__in=[m.pk for m in absent]).update(
                    active=False, updated_at=now
                )
            was = self.was_active
            deactivated = [m.pk for m in self.to_update if was[m.pk] and not m.active]
            deactivated += [m.pk for m in absent]
            activated = [m.pk for m in self.to_update if not was[m.pk] and m.active]
            if deactivated or activated:
                for _receiver, lines in members_changed.send(
                    sender=Member, deactivated=deactivated, activated=activated
                ):
                    report.notes.extend(lines or [])
        report.created, report.updated = len(self.to_create), len(self.to_update)
        report.unchanged = self.unchanged
        report.absent = len(absent)
        report.rejected.sort()


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


def _members_named(codes: set[str], emails: set[str]) -> list[Member]:
    """The members holding one of `codes` or `emails` (lower-case), in chunks of IN (…)."""
    found: dict[int, Member] = {}
    codes_, emails_ = sorted(codes), sorted(emails)
    for start in range(0, max(len(codes_), len(emails_)), BATCH):
        query = Member.objects.alias(email_lower=Lower("email")).filter(
            Q(code__in=codes_[start : start + BATCH])
            | Q(email_lower__in=emails_[start : start + BATCH])
        )
        found.update((m.pk, m) for m in query)
    return list(found.values())


def member_import(
    *, rows: IO[bytes] | IO[str], profile: Profile, full: bool = False
) -> ImportReport:
    """Upsert members by code. Idempotent; bad rows are reported and skipped, never half-written.

    `full`: the file is the whole roster, so a member on file whose code it lacks is made
    inactive (the organisation removed the code). A code on a rejected line counts as
    present; a line unreadable enough to hide its code makes none inactive.

    Every row is checked first (encoding and CSV syntax of its line, format, kind, sizes,
    e-mail unique across the file and the registry); then the accepted rows are written in
    one transaction, in batches. `rows` is best the file opened in binary: a line that is
    not UTF-8 is then one rejected line.
    """
    report = ImportReport()
    file = CsvFile(rows)
    missing = [c for c in REQUIRED if c not in file.columns]
    if file.error or missing:
        report.rejected.append((1, file.error or f"header lacks column(s): {', '.join(missing)}"))
        return report

    roster = _Roster(Member.objects.all(), position="line")
    present: set[str] = set()  # every code the file names, on accepted and rejected lines
    unreadable = 0
    for record in file:
        line = record.line
        if record.error or not (record.values.get("code") or "").strip():
            unreadable += 1
        else:
            present.add(normalise_code(record.values["code"]))
        try:
            if record.error:
                raise ValueError(record.error)
            roster.take(line, _clean_row(record.values, profile))
        except ValueError as error:
            report.rejected.append((line, str(error)))

    absent: list[Member] = []
    if full and not unreadable:
        absent = [m for code, m in roster.existing.items() if code not in present and m.active]
    elif full:
        report.notes.append(
            f"full import: {unreadable} line(s) without a readable code, "
            "so no absent member was made inactive"
        )
    roster.write(report, absent)
    return report


@transaction.atomic
def members_batch(
    *, rows: list[Mapping[str, Any]], profile: Profile, actor_label: str = "operator"
) -> ImportReport:
    """The CSV import's upsert for a JSON list of rows (the API's batch): the same checks and
    report, rows numbered by their index from 0. Idempotent; a refused row is reported and
    the others written. At most BATCH_MAX rows."""
    if len(rows) > BATCH_MAX:
        raise MemberRefused(f"a batch holds at most {BATCH_MAX} members, not {len(rows)}")
    report = ImportReport()
    cleaned: list[tuple[int, Member]] = []
    for index, row in enumerate(rows):
        try:
            cleaned.append((index, _clean_row(_row_text(row), profile)))
        except ValueError as error:
            report.rejected.append((index, str(error)))
    _registry_lock()
    on_file = _members_named({m.code for _, m in cleaned}, {m.email for _, m in cleaned})
    roster = _Roster(on_file, position="index")
    for index, member in cleaned:
        try:
            roster.take(index, member)
        except MemberRefused as refused:
            report.rejected.append((index, str(refused)))
    roster.write(report)
    event_record(
        "registry.batch_imported",
        subject=f"{len(rows)} member(s)",
        by=actor_label,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=len(report.rejected),
    )
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
    member = Member.objects.get(code=member.code)
    if outcome != "unchanged":
        event_record(f"registry.member_{outcome}", subject=member.code, by=actor_label)
    return member, outcome == "created"


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


@transaction.atomic
def _write(to_create: Iterable[Member], to_update: list[Member], moving: list[Member]) -> None:
    # An e-mail one member gives up may be taken by another in the same file. The unique
    # index is checked row by row, so the members whose e-mail changes first step aside to
    # an address of their own, then all take their new one; new members come last.
    Member.objects.bulk_update(
        [Member(pk=m.pk, email=f"moving-{m.pk}@vestibule.invalid") for m in moving],
        ["email"],
        batch_size=BATCH,
    )
    Member.objects.bulk_update(to_update, [*FIELDS, "updated_at"], batch_size=BATCH)
    Member.objects.bulk_create(list(to_create), batch_size=BATCH)
