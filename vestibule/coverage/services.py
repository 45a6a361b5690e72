"""Coverage (seed 004): records imported from covering organisations, access codes, claims,
family members and regions.

A person's account is tied to one coverage record of its region: at activation when one of
the record's invited e-mails is the account's, else with an e-mailed access code, else by
the support team. Every write here records its audit event; e-mails go through the outbox
in the same transaction.
"""

import dataclasses
import re
from datetime import datetime, timedelta
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.models import Account
from vestibule.audit.services import actor_label, event_record
from vestibule.config import Profile, get_profile
from vestibule.coverage import throttles
from vestibule.coverage.codes import code_display, code_is_well_formed, code_normalise
from vestibule.coverage.models import AccessCode, CoverageRecord, InvitedEmail
from vestibule.coverage.selectors import coverage_of, region_label
from vestibule.csv_import import _CONTROL, CsvFile, value_too_long
from vestibule.notifications.services import message_enqueue
from vestibule.throttle.addresses import client_ip
from vestibule.tokens.models import Token
from vestibule.tokens.services import (
    TokenInvalid,
    TokenUnknown,
    token_find,
    token_issue,
    token_spend,
    tokens_revoke,
)


class AccessCodeInvalid(Exception):
    """A code that links nothing; `reason` says why.

    "unknown" (no such code in the account's region), "used", "expired", "record_linked"
    (its coverage has another account), "account_linked" (this account already has one),
    "family_existing_account" (seed 004: a family member's account made before the
    invitation is linked by the support team), "flow_ended" (too many wrong codes in this
    claim), "throttled" (too many wrong codes for this account or client address).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CoverageRefused(Exception):
    """A coverage change the rules refuse; `reason` says which rule."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Wrong codes, as Kratos counts them; the others are right codes in a state that refuses them.
WRONG_CODE_REASONS = {"unknown", "used", "expired"}


def _ip(request: HttpRequest | None) -> str:
    return client_ip(request) if request is not None else ""


def _email_normalise(raw: str) -> str:
    return raw.strip().lower()


def access_code_lifetime(profile: Profile | None = None) -> timedelta:
    return timedelta(days=(profile or get_profile()).coverage.access_code_lifetime_days)


def _recipient_language(email: str) -> str:
    account = Account.objects.by_email(email).only("language").first()
    return account.language if account else get_profile().languages[0]


@transaction.atomic
def access_code_send(
    *,
    record: CoverageRecord,
    email: str,
    template: str = "coverage_code",
    language: str = "",
    context: dict[str, Any] | None = None,
    send_now: bool = True,
    request: HttpRequest | None = None,
) -> AccessCode:
    """Create a code for `record` and e-mail it to `email` with `template`.

    Earlier codes stay valid until they expire: the invitation's code still works after a
    resend. Linking the record ends them all.
    """
    profile = get_profile()
    lifetime = access_code_lifetime(profile)
    code, token = token_issue(purpose=Token.Purpose.ACCESS_CODE, lifetime=lifetime)
    access_code = AccessCode.objects.create(record=record, token=token, sent_to=email)
    message_enqueue(
        template=template,
        to=email,
        language=language or _recipient_language(email),
        language_known=bool(language) or Account.objects.by_email(email).exists(),
        context={
            "record": record,
            "email": email,
            "access_code": code_display(code),
            "lifetime_days": lifetime.days,
            # Named when the e-mail is rendered, in its recipient's language.
            "region_name": region_label(record.region, profile),
            **(context or {}),
        },
        send_now=send_now,
    )
    event_record(
        "coverage.code_sent", request=request, subject=email, record=record.pk, template=template
    )
    return access_code


def _link_moving_region(
    *, record: CoverageRecord, account: Account, how: str, request: HttpRequest | None, **data: Any
) -> bool:
    """_link, the account first moving to the record's region: an account belongs to its
    coverage's region (seed 004). The event records where it came from."""
    region_before = account.region
    if account.region != record.region:
        Account.objects.filter(pk=account.pk).update(region=record.region)
        account.region = record.region
    data["region_before"] = region_before
    return _link(record=record, account=account, how=how, request=request, **data)


def _link(
    *, record: CoverageRecord, account: Account, how: str, request: HttpRequest | None, **data: Any
) -> bool:
    """Tie `account` to `record` unless either is already tied; True when done here."""
    now = timezone.now()
    try:
        with transaction.atomic():
            linked = CoverageRecord.objects.filter(pk=record.pk, account__isnull=True).update(
                account=account, linked_at=now
            )
    except IntegrityError:  # the account was linked to another record meanwhile
        return False
    if not linked:
        return False
    record.account, record.linked_at = account, now
    # The record's other codes are pointless now; none may link a second account.
    tokens_revoke(Token.objects.filter(access_code__record=record), now=now)
    event_record(
        "coverage.linked", request=request, account=account, record=record.pk, how=how, **data
    )
    return True


@transaction.atomic
def coverage_link_by_email(
    *, account: Account, request: HttpRequest | None = None
) -> CoverageRecord | None:
    """At activation: the record of the account's region invited at the account's e-mail."""
    if not account.region or coverage_of(account) is not None:
        return None
    invited = (
        InvitedEmail.objects.select_related("record")
        .filter(region=account.region, email=_email_normalise(account.email))
        .first()
    )
    if invited is None or invited.record.account_id is not None:
        return None
    record = invited.record
    if not record.is_primary and account.created_at < _invited_at(record):
        return None  # seed 004: a family member's earlier account is linked by support
    return record if _link(record=record, account=account, how="email", request=request) else None


def _invited_at(record: CoverageRecord) -> datetime:
    first = record.access_codes.order_by("created_at").values_list("created_at", flat=True)
    return first.first() or record.created_at


@transaction.atomic
def _claim(*, account: Account, code: str, request: HttpRequest | None) -> CoverageRecord:
    if not code_is_well_formed(code):
        raise AccessCodeInvalid("unknown")
    try:
        token, spent = token_find(key=code, purpose=Token.Purpose.ACCESS_CODE), ""
    except TokenUnknown:
        raise AccessCodeInvalid("unknown") from None
    except TokenInvalid as invalid:  # used or expired: said after the checks below
        token, spent = invalid.token, invalid.reason
    access_code = (
        AccessCode.objects.select_related("record")
        # A code of another region is no code here: regions never see each other's records.
        .filter(token=token, record__region=account.region)
        .first()
    )
    if access_code is None:
        raise AccessCodeInvalid("unknown")
    record = access_code.record
    if record.account_id == account.pk:
        return record  # a double click, or the code used again by its own account
    if coverage_of(account) is not None:
        raise AccessCodeInvalid("account_linked")
    if spent:
        raise AccessCodeInvalid(spent)
    if record.account_id is not None:
        raise AccessCodeInvalid("record_linked")
    if not record.is_primary and account.created_at < _invited_at(record):
        raise AccessCodeInvalid("family_existing_account")
    try:
        token_spend(token_id=token.pk)
    except TokenInvalid as invalid:  # a concurrent claim of the same code won
        raise AccessCodeInvalid(invalid.reason) from None
    if not _link(record=record, account=account, how="code", request=request):
        # Raising rolls the code's use back with the rest of this transaction.
        raise AccessCodeInvalid(
            "account_linked" if coverage_of(account) is not None else "record_linked"
        )
    return record


def coverage_claim(
    *, account: Account, code: str, flow: str, request: HttpRequest | None = None
) -> CoverageRecord:
    """« Code d'accès »: a valid code of the account's region links the account to its record.

    `flow` names this series of tries: after the profile's number of wrong codes it ends
    (AccessCodeInvalid("flow_ended")) until a new code starts another. Each try is counted
    on the claim, the account and the client address before the code is looked at, so
    parallel tries never get more codes compared than the limits allow; a try that was no
    wrong code is given back. Not atomic as a whole: a refusal's audit event and counts
    must outlive the refused transaction.
    """
    profile = get_profile()
    code_try = throttles.CodeTry(account_id=account.pk, flow=flow, ip=_ip(request))
    try:
        refusal = throttles.code_try_reserve(code_try, profile=profile)
        if refusal:
            raise AccessCodeInvalid(refusal)
        try:
            record = _claim(account=account, code=code_normalise(code), request=request)
        except AccessCodeInvalid as invalid:
            if invalid.reason not in WRONG_CODE_REASONS:
                throttles.code_try_give_back(code_try, profile=profile)
            raise
    except AccessCodeInvalid as invalid:
        event_record(
            "coverage.claim_refused", request=request, account=account, reason=invalid.reason
        )
        raise
    throttles.code_try_give_back(code_try, profile=profile)
    throttles.flow_forget(account_id=account.pk, flow=flow)
    return record


def code_resend_wait(email: str) -> int:
    """Seconds before `email` may be sent a code again (0: this request is reserved).

    Counted on the typed address before any record is looked up, so an address never
    invited is refused after as many requests as an invited one.
    """
    return throttles.inbox_wait(_email_normalise(email))


@transaction.atomic
def code_resend(
    *,
    email: str,
    region: str,
    account: Account | None = None,
    language: str = "",
    request: HttpRequest | None = None,
) -> bool:
    """« Renvoyer mon code d'invitation »: a new code to `email` if a record of `region` has it.

    Returns False only when the account or client address asked too often; whether a code
    left is not told, so the page answers the same for every address.
    """
    if not throttles.resend_allowed(account_id=account.pk if account else None, ip=_ip(request)):
        event_record("coverage.code_request_throttled", request=request, account=account)
        return False
    email = _email_normalise(email)
    invited = (
        InvitedEmail.objects.select_related("record").filter(region=region, email=email).first()
    )
    sent = bool(
        invited is not None and invited.record.account_id is None and throttles.inbox_allowed(email)
    )
    if sent:
        access_code_send(record=invited.record, email=email, language=language, request=request)
    event_record(
        "coverage.code_requested",
        request=request,
        account=account,
        requested_for=email,
        region=region,
        found=invited is not None,
        sent=sent,
    )
    return True


@transaction.atomic
def coverage_link_by_staff(
    *,
    account: Account,
    record: CoverageRecord,
    staff: Account,
    request: HttpRequest | None = None,
) -> CoverageRecord:
    """The support team links an account (seed 004: a family member registered before the
    invitation). The account moves to the record's region: an account belongs to its
    coverage's region. The member is told by e-mail."""
    if record.account_id == account.pk:
        return record
    if record.account_id is not None:
        raise CoverageRefused("record_linked")
    if coverage_of(account) is not None:
        raise CoverageRefused("account_linked")
    if not _link_moving_region(
        record=record, account=account, how="staff", request=request, by=staff.email
    ):
        raise CoverageRefused("record_linked")
    message_enqueue(
        template="coverage_linked",
        to=account.email,
        language=account.language,
        context={"account": account, "record": record},
    )
    return record


@transaction.atomic
def coverage_unlink(
    *, record: CoverageRecord, staff: Account, request: HttpRequest | None = None
) -> bool:
    """Untie the record's account (staff); False when none was linked."""
    account = record.account
    if account is None:
        return False
    unlinked = CoverageRecord.objects.filter(pk=record.pk, account=account).update(
        account=None, linked_at=None
    )
    record.account, record.linked_at = None, None
    if unlinked:
        event_record(
            "coverage.unlinked", request=request, account=account, record=record.pk, by=staff.email
        )
    return bool(unlinked)


@transaction.atomic
def account_region_change(
    *, account: Account, region: str, request: HttpRequest | None = None
) -> CoverageRecord | None:
    """Seed 004's « pas créé votre compte dans la bonne région ».

    The seed says to create a new account in the right region; here an e-mail address has
    one account per portal, so the account itself moves, and its coverage is looked for
    again there. A linked account stays in its coverage's region.
    """
    profile = get_profile()
    if region not in {r.key for r in profile.regions}:
        raise CoverageRefused("unknown_region")
    if coverage_of(account) is not None:
        raise CoverageRefused("account_linked")
    if region != account.region:
        before = account.region
        Account.objects.filter(pk=account.pk).update(region=region)
        account.region = region
        event_record(
            "account.region_changed", request=request, account=account, before=before, after=region
        )
    return coverage_link_by_email(account=account, request=request)


def coverage_invitations_send(*, request: HttpRequest | None = None) -> int:
    """E-mail a code to the first invited address of every unlinked record never invited.

    The e-mails wait in the outbox for its sender (`vestibule send-mail`), which delivers
    them in batches over one connection instead of one SMTP session each.
    """
    waiting = (
        CoverageRecord.objects.filter(account__isnull=True, access_codes__isnull=True)
        .exclude(emails__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    sent = 0
    for pk in list(waiting):
        # One transaction per record: an interruption keeps what was already sent.
        with transaction.atomic():
            record = CoverageRecord.objects.select_for_update().filter(pk=pk).first()
            if record is None or record.account_id or record.access_codes.exists():
                continue
            first = record.emails.order_by("pk").first()
            if first is None:
                continue
            access_code_send(
                record=record,
                email=first.email,
                template="coverage_invitation",
                context={"inviter": record.primary},
                send_now=False,
                request=request,
            )
            sent += 1
    if sent:  # an hourly job: a round that sent nothing writes nothing
        event_record("coverage.invitations_sent", request=request, count=sent)
    return sent


# --- Import ------------------------------------------------------------------------------

COLUMNS = (
    "region",
    "plan",
    "first_name",
    "last_name",
    "emails",
    "primary_email",
    "allows_dependents",
)
REQUIRED_COLUMNS = ("region", "plan", "first_name", "last_name", "emails")
YES = {"1", "true", "yes", "oui", "y", "o"}
NO = {"0", "false", "no", "non", "n", ""}
BATCH = 2000
# The columns' sizes in the database: PostgreSQL refuses a longer value, SQLite keeps it.
LENGTHS = {
    name: CoverageRecord._meta.get_field(name).max_length
    for name in ("region", "plan", "first_name", "last_name")
}
EMAIL_LENGTH = InvitedEmail._meta.get_field("email").max_length


@dataclasses.dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    linked: int = 0  # accounts that existed already, linked by their e-mail

    def lines(self) -> list[str]:
        out = [f"line {line}: rejected: {reason}" for line, reason in self.rejected]
        out.append(
            f"created {self.created}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}, "
            f"accounts linked {self.linked}"
        )
        return out


@dataclasses.dataclass
class _Row:
    line: int
    region: str
    plan: str
    first_name: str
    last_name: str
    emails: dict[str, str]  # address → kind, in the file's order
    primary_email: str
    allows_dependents: bool
    record_id: int | None = None  # the existing record this row describes
    primary_row: "_Row | None" = None
    primary_id: int | None = None


def _emails_parse(cell: str) -> dict[str, str]:
    """« work:a@b.org; c@d.org » → {"a@b.org": "work", "c@d.org": "personal"}."""
    emails: dict[str, str] = {}
    for part in (p.strip() for p in cell.split(";")):
        if not part:
            continue
        kind, separator, address = part.partition(":")
        if not separator:
            kind, address = InvitedEmail.Kind.PERSONAL, part
        kind = kind.strip().lower()
        if kind not in InvitedEmail.Kind.values:
            raise ValueError(f"e-mail kind {kind!r} is not one of: personal, work, school")
        address = _email_normalise(address)
        if len(address) > EMAIL_LENGTH:
            raise ValueError(f"an e-mail is longer than {EMAIL_LENGTH} characters")
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"e-mail {address!r} is not a valid address") from None
        emails.setdefault(address, kind)
    if not emails:
        raise ValueError("emails is empty")
    return emails


def _row_parse(line: int, raw: dict[str, str], regions: set[str]) -> _Row:
    values = {column: (raw.get(column) or "").strip() for column in COLUMNS}
    for column in REQUIRED_COLUMNS:
        if not values[column]:
            raise ValueError(f"{column} is empty")
    if reason := value_too_long(values, LENGTHS):
        raise ValueError(reason)
    if values["region"] not in regions:
        raise ValueError(
            f"unknown region {values['region']!r} (expected one of: {', '.join(sorted(regions))})"
        )
    flag = values["allows_dependents"].lower()
    if flag not in YES | NO:
        raise ValueError(f"allows_dependents {values['allows_dependents']!r} is not yes/no")
    primary_email = _email_normalise(values["primary_email"])
    if primary_email:
        try:
            validate_email(primary_email)
        except ValidationError:
            raise ValueError(f"primary_email {primary_email!r} is not a valid address") from None
        if flag in YES:
            raise ValueError("a dependent cannot allow dependents")
    return _Row(
        line=line,
        region=values["region"],
        plan=values["plan"],
        first_name=values["first_name"],
        last_name=values["last_name"],
        emails=_emails_parse(values["emails"]),
        primary_email=primary_email,
        allows_dependents=flag in YES,
    )


def coverage_import(
    *, rows: IO[bytes] | IO[str], profile: Profile, source: str = ""
) -> ImportReport:
    """Create or update coverage records from CSV. Idempotent; bad rows are reported and
    skipped, never half-written.

    A row describes the record of its region that has any of its e-mails (else a new one).
    Columns: region, plan, first_name, last_name, emails (« a@b.org; work:c@d.org »),
    primary_email (empty for a primary member; for a dependent, an invited e-mail of its
    primary, in this file or already imported), allows_dependents (yes/no). A line that
    cannot be read (not UTF-8 when `rows` is binary, a NUL, an open quote) is one rejected
    line, as is a value longer than its column.
    """
    report = ImportReport()
    file = CsvFile(rows)
    regions = {region.key for region in profile.regions}
    missing = [c for c in REQUIRED_COLUMNS if c not in file.columns]
    if not regions:
        report.rejected.append((1, f"profile {profile.name!r} lists no regions"))
    elif file.error or missing:
        report.rejected.append((1, file.error or f"header lacks column(s): {', '.join(missing)}"))
    if report.rejected:
        return report

    parsed: list[_Row] = []
    for record in file:
        try:
            if record.error:
                raise ValueError(record.error)
            parsed.append(_row_parse(record.line, record.values, regions))
        except ValueError as error:
            report.rejected.append((record.line, str(error)))

    existing = _Existing.load({row.region for row in parsed})
    accepted = _rows_match(parsed, existing, report)
    accepted = _primaries_resolve(accepted, existing, report)
    report.rejected.sort()
    _rows_write(accepted, existing, report)
    report.linked = _accounts_link_waiting(accepted)
    event_record(
        "coverage.imported",
        subject=source[:254],
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=len(report.rejected),
    )
    return report


@dataclasses.dataclass
class CoverageUpsert:
    report: ImportReport
    record: CoverageRecord | None  # the primary record written; None when refused
    created: bool = False  # the primary record is new


# A CSV line ends at a line break, so no imported value ever holds one.
_LINE_BREAK = re.compile(r"[\n\r]")


def coverage_record_upsert(
    *,
    profile: Profile,
    region: str,
    email: str,
    record: dict[str, str],
    dependents: list[dict[str, str]],
) -> CoverageUpsert:
    """One primary member's record and its dependents, checked and written as the rows of
    `vestibule import-coverage` (same rules, same reasons), but all or nothing.

    `record` and each dependent hold the import's columns but region and primary_email: the
    record, of `region`, is known by `email`, one of its e-mails, and its dependents name it.
    Reasons number the rows: 1 is the record, 2, 3… its dependents in order. Dependents not
    listed are left as they are, as the import leaves records missing from a file.
    Raises CoverageRefused("conflict") when another writer took one of the addresses meanwhile.
    """
    report = ImportReport()
    regions = {r.key for r in profile.regions}
    if not regions:
        report.rejected.append((1, f"profile {profile.name!r} lists no regions"))
        return CoverageUpsert(report, None)
    key = _email_normalise(email)
    rows = [
        {**record, "region": region, "primary_email": ""},
        *({**dependent, "region": region, "primary_email": key} for dependent in dependents),
    ]
    parsed: list[_Row] = []
    for line, raw in enumerate(rows, start=1):
        try:
            for value in raw.values():
                if control := _CONTROL.search(value) or _LINE_BREAK.search(value):
                    name = "NUL byte" if control.group() == "\x00" else "control character"
                    raise ValueError(f"holds a {name} (U+{ord(control.group()):04X})")
            parsed.append(_row_parse(line, raw, regions))
        except ValueError as error:
            report.rejected.append((line, str(error)))
    if parsed and parsed[0].line == 1 and key not in parsed[0].emails:
        report.rejected.append((1, f"e-mail {key!r} is not one of the record's e-mails"))
    if report.rejected:
        return CoverageUpsert(report, None)
    try:
        with transaction.atomic():
            addresses = {address for row in parsed for address in row.emails}
            existing = _Existing.load({region}, addresses)
            accepted = _primaries_resolve(_rows_match(parsed, existing, report), existing, report)
            if report.rejected:
                report.rejected.sort()
                return CoverageUpsert(report, None)
            created = accepted[0].record_id is None
            _rows_write(accepted, existing, report)
            report.linked = _accounts_link_waiting(accepted)
            event_record(
                "coverage.upserted",
                subject=key,
                by=actor_label(None),
                region=region,
                created=report.created,
                updated=report.updated,
                unchanged=report.unchanged,
                linked=report.linked,
            )
    except IntegrityError:  # a concurrent writer invited one of these addresses first
        raise CoverageRefused("conflict") from None
    return CoverageUpsert(report, CoverageRecord.objects.get(pk=accepted[0].record_id), created)


def _accounts_link_waiting(rows: list[_Row]) -> int:
    """Active accounts of the imported e-mails that have no coverage yet: linked by e-mail.

    The same rule as at activation (coverage_link_by_email), for members who activated their
    account before their organisation's file was imported.
    """
    linked = 0
    by_region: dict[str, set[str]] = {}
    for row in rows:
        by_region.setdefault(row.region, set()).update(row.emails)
    for region, emails in by_region.items():
        waiting = Account.objects.annotate(address=Lower("email")).filter(
            address__in=emails,
            region=region,
            status=Account.Status.ACTIVE,
            coverage__isnull=True,
        )
        for account in waiting:
            linked += coverage_link_by_email(account=account) is not None
    return linked


@dataclasses.dataclass
class _Existing:
    """What the database already holds for the file's regions, read once."""

    records: dict[int, CoverageRecord]
    owners: dict[tuple[str, str], int]  # (region, e-mail) → record id
    emails: dict[int, dict[str, tuple[int, str]]]  # record id → {e-mail: (id, kind)}
    with_dependents: set[int]

    @classmethod
    def load(cls, regions: set[str], addresses: set[str] | None = None) -> "_Existing":
        """Every record of `regions`, or only those invited at one of `addresses` (one API
        request reads its few records, not its region's thousands)."""
        records_found = CoverageRecord.objects.filter(region__in=regions)
        invited = InvitedEmail.objects.filter(region__in=regions)
        if addresses is not None:
            owning = invited.filter(email__in=addresses).values("record_id")
            records_found = records_found.filter(pk__in=owning)
            invited = invited.filter(record_id__in=owning)
        records = {r.pk: r for r in records_found}
        owners: dict[tuple[str, str], int] = {}
        emails: dict[int, dict[str, tuple[int, str]]] = {}
        for pk, region, email, kind, record_id in invited.values_list(
            "pk", "region", "email", "kind", "record_id"
        ):
            owners[region, email] = record_id
            emails.setdefault(record_id, {})[email] = (pk, kind)
        if addresses is None:
            with_dependents = {r.primary_id for r in records.values() if r.primary_id}
        else:
            with_dependents = set(
                CoverageRecord.objects.filter(primary_id__in=records).values_list(
                    "primary_id", flat=True
                )
            )
        return cls(records, owners, emails, with_dependents)


def _rows_match(parsed: list[_Row], existing: _Existing, report: ImportReport) -> list[_Row]:
    """Find the existing record of each row; refuse rows that repeat an address or a person."""
    line_of_email: dict[tuple[str, str], int] = {}
    line_of_record: dict[int, int] = {}
    accepted = []
    for row in parsed:
        keys = [(row.region, email) for email in row.emails]
        repeated = next((key for key in keys if key in line_of_email), None)
        if repeated:
            report.rejected.append(
                (row.line, f"e-mail {repeated[1]} repeats line {line_of_email[repeated]}")
            )
            continue
        matches = {existing.owners[key] for key in keys if key in existing.owners}
        if len(matches) > 1:
            report.rejected.append(
                (row.line, "its e-mails belong to different coverage records already imported")
            )
            continue
        record_id = matches.pop() if matches else None
        if record_id is not None and record_id in line_of_record:
            report.rejected.append(
                (row.line, f"describes the same person as line {line_of_record[record_id]}")
            )
            continue
        line_of_email.update(dict.fromkeys(keys, row.line))
        if record_id is not None:
            line_of_record[record_id] = row.line
        row.record_id = record_id
        accepted.append(row)
    return accepted


def _primaries_resolve(
    accepted: list[_Row], existing: _Existing, report: ImportReport
) -> list[_Row]:
    """Tie each dependent to its primary: a primary row of the file, else an imported one."""
    row_of_email = {
        (row.region, email): row
        for row in accepted
        if not row.primary_email
        for email in row.emails
    }
    row_of_record = {row.record_id: row for row in accepted if row.record_id is not None}
    resolved = []
    for row in accepted:
        if not row.primary_email:
            resolved.append(row)
            continue
        if row.record_id in existing.with_dependents:
            report.rejected.append(
                (row.line, "this primary member has dependents and cannot become a dependent")
            )
            continue
        key = (row.region, row.primary_email)
        primary_row = row_of_email.get(key)
        primary_record = None
        if primary_row is None and key in existing.owners:
            described = row_of_record.get(existing.owners[key])
            if described is None:
                primary_record = existing.records[existing.owners[key]]
            elif not described.primary_email:
                primary_row = described
        if primary_row is not None:
            allows = primary_row.allows_dependents
        elif primary_record is not None and primary_record.is_primary:
            allows = primary_record.allows_dependents
        else:
            report.rejected.append(
                (
                    row.line,
                    f"primary_email {row.primary_email} is no invited e-mail of a primary member "
                    f"of region {row.region}",
                )
            )
            continue
        if not allows:
            report.rejected.append(
                (row.line, f"the primary member of {row.primary_email} does not allow dependents")
            )
            continue
        row.primary_row = primary_row
        row.primary_id = primary_record.pk if primary_record else None
        resolved.append(row)
    return resolved


@transaction.atomic
def _rows_write(accepted: list[_Row], existing: _Existing, report: ImportReport) -> None:
    new_emails: list[InvitedEmail] = []
    # Primaries first: their dependents need their ids.
    for row in sorted(accepted, key=lambda r: bool(r.primary_email)):
        if row.primary_row is not None:
            row.primary_id = row.primary_row.record_id
        fields = {
            "plan": row.plan,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "primary_id": row.primary_id,
            "allows_dependents": row.allows_dependents,
        }
        record = existing.records.get(row.record_id) if row.record_id is not None else None
        if record is None:
            record = CoverageRecord.objects.create(region=row.region, **fields)
            row.record_id = record.pk
            new_emails += _emails_new(record, row.emails)
            report.created += 1
            continue
        changed = any(getattr(record, name) != value for name, value in fields.items())
        if changed:
            for name, value in fields.items():
                setattr(record, name, value)
            record.save(update_fields=[*fields, "updated_at"])
        current = existing.emails.get(record.pk, {})
        if _emails_sync(record, current, row.emails, new_emails) or changed:
            report.updated += 1
        else:
            report.unchanged += 1
    InvitedEmail.objects.bulk_create(new_emails, batch_size=BATCH)


def _emails_new(record: CoverageRecord, wanted: dict[str, str]) -> list[InvitedEmail]:
    return [
        InvitedEmail(record=record, region=record.region, email=email, kind=kind)
        for email, kind in wanted.items()
    ]


def _emails_sync(
    record: CoverageRecord,
    current: dict[str, tuple[int, str]],
    wanted: dict[str, str],
    new_emails: list[InvitedEmail],
) -> bool:
    """Make the record's invited e-mails exactly `wanted`; True when anything changes."""
    stale = [pk for email, (pk, _) in current.items() if email not in wanted]
    InvitedEmail.objects.filter(pk__in=stale).delete()
    changed = bool(stale)
    for email, kind in wanted.items():
        if email not in current:
            new_emails += _emails_new(record, {email: kind})
            changed = True
        elif current[email][1] != kind:
            InvitedEmail.objects.filter(pk=current[email][0]).update(kind=kind)
            changed = True
    return changed
