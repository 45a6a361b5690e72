"""Importing the member roster from CSV, and the registry rules the import applies.

Columns (header row required): kind, code, email, first_name, last_name, region, active.
A member set inactive (or, in a full import, absent from the file) can no longer sign in:
the accounts app hears of it through `signals.members_changed` and disables the account.
"""

import dataclasses
from collections.abc import Iterable
from typing import IO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

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

    existing = {m.code: m for m in Member.objects.all()}
    existing_active = {m.pk: m.active for m in existing.values()}
    owner_of_email = {m.email.lower(): m.code for m in existing.values()}
    seen_codes: dict[str, int] = {}
    present: set[str] = set()  # every code the file names, on accepted and rejected lines
    unreadable = 0
    to_create: list[Member] = []
    to_update: list[Member] = []
    moving: list[Member] = []  # updated members whose e-mail changes
    for record in file:
        line = record.line
        if record.error or not (record.values.get("code") or "").strip():
            unreadable += 1
        else:
            present.add(normalise_code(record.values["code"]))
        try:
            if record.error:
                raise ValueError(record.error)
            member = _clean_row(record.values, profile)
        except ValueError as error:
            report.rejected.append((line, str(error)))
            continue
        if member.code in seen_codes:
            report.rejected.append(
                (line, f"code {member.code} repeats line {seen_codes[member.code]}")
            )
            continue
        owner = owner_of_email.get(member.email)
        if owner is not None and owner != member.code:
            report.rejected.append(
                (line, f"e-mail {member.email} already belongs to member {owner}")
            )
            continue
        seen_codes[member.code] = line
        current = existing.get(member.code)
        if current is None:
            to_create.append(member)
        elif all(getattr(current, f) == getattr(member, f) for f in FIELDS):
            report.unchanged += 1
            continue
        else:
            old_email = current.email.lower()
            if old_email != member.email.lower():
                moving.append(current)
            if owner_of_email.get(old_email) == current.code:
                del owner_of_email[old_email]
            for field in FIELDS:
                setattr(current, field, getattr(member, field))
            to_update.append(current)
        owner_of_email[member.email] = member.code

    was_active = {m.pk: existing_active[m.pk] for m in to_update}
    absent: list[Member] = []
    if full and not unreadable:
        absent = [m for code, m in existing.items() if code not in present and m.active]
    elif full:
        report.notes.append(
            f"full import: {unreadable} line(s) without a readable code, "
            "so no absent member was made inactive"
        )
    with transaction.atomic():
        _write(to_create, to_update, moving)
        if absent:
            Member.objects.filter(pk__in=[m.pk for m in absent]).update(active=False)
        deactivated = [m.pk for m in to_update if was_active[m.pk] and not m.active]
        deactivated += [m.pk for m in absent]
        activated = [m.pk for m in to_update if not was_active[m.pk] and m.active]
        if deactivated or activated:
            for _receiver, lines in members_changed.send(
                sender=Member, deactivated=deactivated, activated=activated
            ):
                report.notes.extend(lines or [])
    report.created, report.updated, report.absent = len(to_create), len(to_update), len(absent)
    report.rejected.sort()
    return report


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
    Member.objects.bulk_update(to_update, list(FIELDS), batch_size=BATCH)
    Member.objects.bulk_create(list(to_create), batch_size=BATCH)
