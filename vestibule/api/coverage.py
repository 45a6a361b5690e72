"""coverage:write — the covering organisation's records (seed 004), one primary member and
their dependents at a time, by the rules of `vestibule import-coverage`.

A record has no number of its own: the import knows it, from one file to the next, by any
of its invited e-mails in its region. So its address here is /coverage/{region}/{email},
with `email` one of the record's e-mails (the one a client keeps while changing others).
"""

from typing import Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status

from vestibule.api.auth import scoped
from vestibule.api.problems import MEDIA_TYPE, Problem, StrictSchema
from vestibule.config import get_profile
from vestibule.coverage.models import CoverageRecord
from vestibule.coverage.services import CoverageRefused, coverage_record_upsert

router = Router(tags=["coverage"])

EmailKind = Literal["personal", "work", "school"]


class InvitedEmailIn(StrictSchema):
    address: str
    kind: EmailKind = "personal"


class DependentIn(StrictSchema):
    first_name: str
    last_name: str
    plan: str | None = None  # the primary member's when omitted
    emails: list[InvitedEmailIn]


class CoverageRecordIn(StrictSchema):
    """A primary member's record; `emails` must hold the address's e-mail."""

    plan: str
    first_name: str
    last_name: str
    emails: list[InvitedEmailIn]
    allows_dependents: bool = False
    # Listed dependents are created or updated; a dependent not listed is left as it is.
    dependents: list[DependentIn] = []


class InvitedEmailOut(Schema):
    address: str
    kind: EmailKind


class DependentOut(Schema):
    plan: str
    first_name: str
    last_name: str
    emails: list[InvitedEmailOut]
    linked: bool


class UpsertCounts(Schema):
    created: int
    updated: int
    unchanged: int
    accounts_linked: int


class CoverageRecordOut(Schema):
    region: str
    plan: str
    first_name: str
    last_name: str
    emails: list[InvitedEmailOut]
    allows_dependents: bool
    linked: bool
    dependents: list[DependentOut]
    result: UpsertCounts


def _problem_doc(description: str) -> dict:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _emails_cell(emails: list[InvitedEmailIn]) -> str:
    """The import's `emails` column: « work:a@b.org; personal:c@d.org »."""
    return "; ".join(f"{email.kind}:{email.address}" for email in emails)


def _emails_out(record: CoverageRecord) -> list[dict[str, str]]:
    return [{"address": e.email, "kind": e.kind} for e in record.emails.all()]


@router.put(
    "/{region}/{email}",
    auth=scoped("coverage:write"),
    response={200: CoverageRecordOut, 201: CoverageRecordOut},
    summary="Create or update a coverage record and its dependents",
    openapi_extra={
        "responses": {
            404: _problem_doc("Coverage is off: the profile lists no regions."),
            409: _problem_doc("Another request wrote one of these addresses at the same time."),
            422: _problem_doc(
                "A field is missing, wrong or unknown, or a row breaks a rule of the import "
                "(errors[].field: '' for the record, 'dependents.N' for a dependent)."
            ),
        }
    },
)
def coverage_put(
    request: HttpRequest, region: str, email: str, payload: CoverageRecordIn
) -> Status:
    """The record of `region` invited at `email`, as the body says (its e-mails become
    exactly the body's), with the listed dependents; 201 when the record is new. Checked
    row by row like a line of `vestibule import-coverage`, with the same reasons, but all
    or nothing: one refused row and nothing is written. Audited as `coverage.upserted`."""
    profile = get_profile()
    if not profile.regions:
        raise Problem("not-found", f"Coverage is off: profile {profile.name!r} lists no regions.")
    record = {
        "plan": payload.plan,
        "first_name": payload.first_name,
        "last_name": payload.last_name,
        "emails": _emails_cell(payload.emails),
        "allows_dependents": "yes" if payload.allows_dependents else "no",
    }
    dependents = [
        {
            "plan": payload.plan if dependent.plan is None else dependent.plan,
            "first_name": dependent.first_name,
            "last_name": dependent.last_name,
            "emails": _emails_cell(dependent.emails),
            "allows_dependents": "no",
        }
        for dependent in payload.dependents
    ]
    try:
        upsert = coverage_record_upsert(
            profile=profile, region=region, email=email, record=record, dependents=dependents
        )
    except CoverageRefused:
        raise Problem(
            "conflict", "Another request wrote one of these addresses meanwhile; send it again."
        ) from None
    report = upsert.report
    if upsert.record is None:
        errors = [
            {
                "field": "" if line == 1 else f"dependents.{line - 2}",
                "message": reason,
                "code": "rejected",
            }
            for line, reason in report.rejected
        ]
        raise Problem(
            "validation",
            "; ".join(message["message"] for message in errors),
            errors=errors,
        )
    saved = upsert.record
    body = {
        "region": saved.region,
        "plan": saved.plan,
        "first_name": saved.first_name,
        "last_name": saved.last_name,
        "emails": _emails_out(saved),
        "allows_dependents": saved.allows_dependents,
        "linked": saved.account_id is not None,
        "dependents": [
            {
                "plan": dependent.plan,
                "first_name": dependent.first_name,
                "last_name": dependent.last_name,
                "emails": _emails_out(dependent),
                "linked": dependent.account_id is not None,
            }
            for dependent in saved.dependents.prefetch_related("emails").order_by("pk")
        ],
        "result": {
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "accounts_linked": report.linked,
        },
    }
    return Status(201 if upsert.created else 200, body)
