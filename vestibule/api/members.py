"""/members: the organisation's systems keep the member roster in step (registry:read,
registry:write). Thin: every rule is in vestibule.registry.services, shared with
`vestibule import-members`.

The router is mounted at the API's root, not at /members: the batch is the custom method
`POST /members:batch` (a sibling of /members in Google's AIP-136 style), and a router
mounted at /members joins its paths with a slash (/members/:batch).
"""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime, StrictBool

from vestibule.api.auth import scoped
from vestibule.api.problems import Problem, StrictSchema
from vestibule.config import get_profile
from vestibule.registry.identifiers import normalise_code
from vestibule.registry.models import Member
from vestibule.registry.services import (
    BATCH_MAX,
    MemberConflict,
    MemberRefused,
    member_deactivate,
    member_upsert,
    members_batch,
    members_changed_since,
)

router = Router(tags=["members"])
# 10,000 rows of a few hundred bytes each; the API's other bodies keep its 64 KiB cap.
BATCH_BODY_LIMIT = 5 * 1024 * 1024
PAGE_MAX = 1000


class MemberFields(StrictSchema):
    """A member as the CSV import's columns hold it (the code is in the path). The registry
    checks each value (kind, code format, e-mail, sizes) and answers with the import's words."""

    kind: str = Field("", description="A member kind of the profile, e.g. `physician`.")
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    region: str = ""
    active: StrictBool = Field(True, description="false: the member can no longer sign in.")


class MemberRow(MemberFields):
    code: str = ""


class MemberBatch(StrictSchema):
    members: list[MemberRow] = Field(..., max_length=BATCH_MAX)


class MemberOut(Schema):
    code: str
    kind: str
    email: str
    first_name: str
    last_name: str
    region: str
    active: bool
    updated_at: datetime


class RejectedRow(Schema):
    index: int = Field(..., description="The row's position in `members`, from 0.")
    reason: str


class BatchReport(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: list[RejectedRow]
    notes: list[str] = Field(..., description="What the accounts app did (accounts disabled…).")


class MemberPage(Schema):
    members: list[MemberOut]
    next: str | None = Field(..., description="The cursor of the next page; null on the last.")


class MemberChanges(Schema):
    updated_since: AwareDatetime | None = None
    cursor: str = Field("", max_length=200)
    limit: int = Field(100, ge=1, le=PAGE_MAX)


def _actor(request: HttpRequest) -> str:
    return f"api:{request.auth.client_id}"


def _refusal(refused: MemberRefused) -> Problem:
    if isinstance(refused, MemberConflict):
        return Problem("conflict", str(refused))
    return Problem("validation", str(refused))


def _member(code: str) -> Member:
    member = Member.objects.filter(code=normalise_code(code)).first()
    if member is None:
        raise Problem("not-found", f"No member has the code {normalise_code(code)}.")
    return member


@router.post("/members:batch", auth=scoped("registry:write"), response=BatchReport)
def members_batch_post(request: HttpRequest, body: MemberBatch) -> dict:
    """Create or update up to 10,000 members by code, with the checks and report of
    `vestibule import-members`: a refused row is reported by its index, the others written.
    Sending the same batch again changes nothing (all `unchanged`)."""
    try:
        report = members_batch(
            rows=[row.dict() for row in body.members],
            profile=get_profile(),
            actor_label=_actor(request),
        )
    except MemberRefused as refused:
        raise _refusal(refused) from None
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": [{"index": index, "reason": reason} for index, reason in report.rejected],
        "notes": report.notes,
    }


# Read by the API's body cap (v1.body_capped): a batch is larger than the other bodies.
members_batch_post.api_body_limit = BATCH_BODY_LIMIT  # type: ignore[attr-defined]


@router.put(
    "/members/{code}",
    auth=scoped("registry:write"),
    response={200: MemberOut, 201: MemberOut},
)
def member_put(request: HttpRequest, code: str, body: MemberFields) -> tuple[int, Member]:
    """Create (201) or update (200) the member with this code."""
    try:
        saved, created = member_upsert(
            code=code, fields=body.dict(), profile=get_profile(), actor_label=_actor(request)
        )
    except MemberRefused as refused:
        raise _refusal(refused) from None
    return (201 if created else 200), saved


@router.delete("/members/{code}", auth=scoped("registry:write"), response={204: None})
def member_delete(request: HttpRequest, code: str) -> tuple[int, None]:
    """Make the member inactive: their account can no longer sign in. Nothing is deleted
    (the member and the account's history stay); PUT with `active: true` restores them."""
    try:
        member_deactivate(code=code, actor_label=_actor(request))
    except Member.DoesNotExist:
        raise Problem("not-found", f"No member has the code {normalise_code(code)}.") from None
    return 204, None


@router.get("/members/{code}", auth=scoped("registry:read"), response=MemberOut)
def member_get(request: HttpRequest, code: str) -> Member:
    return _member(code)


@router.get("/members", auth=scoped("registry:read"), response=MemberPage)
def members_list(request: HttpRequest, query: Query[MemberChanges]) -> dict:
    """The members changed at or after `updated_since` (all without it), oldest change
    first, by pages: pass `next` as `cursor` until it is null. A member changed while you
    page comes again, later in the order, as changed."""
    try:
        members, cursor = members_changed_since(
            updated_since=query.updated_since, cursor=query.cursor, limit=query.limit
        )
    except MemberRefused as refused:
        raise _refusal(refused) from None
    return {"members": members, "next": cursor or None}
