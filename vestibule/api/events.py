"""audit:read — the security events for a SIEM, page after page, without gaps.

The feed's order and cursor are vestibule.audit.feed's: commit order, so an event written
by a transaction that commits late is served after the ones read before it, never skipped.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from vestibule.api.auth import scoped
from vestibule.audit.feed import CURSOR_PATTERN, Cursor, event_document, events_page

router = Router(tags=["events"])

PAGE_MAX = 1000


class EventOut(Schema):
    id: int
    kind: str = Field(..., description='What happened, e.g. "sign_in.failed".')
    time: datetime
    subject: str = Field(..., description="Who was concerned, or what the actor typed.")
    ip: str | None = Field(..., description="The client address of the request, if any.")
    data: dict[str, Any] = Field(..., description='Details; "by" names the actor.')


class EventPage(Schema):
    events: list[EventOut]
    next: str = Field(
        ...,
        description="The cursor to ask with next time (`after`); the same one when no new "
        "event is served yet. Never null: the feed goes on.",
    )


class EventsAfter(Schema):
    after: str | None = Field(
        None,
        pattern=CURSOR_PATTERN,
        description="The `next` of the previous page; from the oldest event kept without it.",
    )
    limit: int = Field(100, ge=1, le=PAGE_MAX)


@router.get("", auth=scoped("audit:read"), response=EventPage, summary="Read the security events")
def events_list(request: HttpRequest, query: Query[EventsAfter]) -> dict[str, Any]:
    """The events after the cursor, in commit order, `limit` at a time: ask again with
    `next` (at once while pages come full, then every few seconds). An event is served
    once every transaction older than it has ended, so none is ever skipped."""
    after = Cursor.parse(query.after) if query.after else None
    events, cursor = events_page(after=after, limit=query.limit)
    return {"events": [event_document(event) for event in events], "next": str(cursor)}
