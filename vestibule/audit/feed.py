"""The events feed a SIEM reads page after page: commit order, no gaps under concurrent writes.

With autoincrement ids alone, a transaction that took id 10 may commit after one that took
id 11 was already read past: a reader following `id > cursor` never sees 10. So on
PostgreSQL the feed pages in (xid, id) order, where xid is the writing transaction's id
(set by a trigger, migration 0003), and serves only the rows of transactions older than
every transaction still in flight (xid < xmin of the statement's snapshot): no row can
appear later below that line, since every transaction still to commit has a higher xid.
The price: an event is served once every older transaction of the server has ended, so a
long transaction (anywhere on the PostgreSQL server: xids are server-wide) delays the feed
for its duration; it never loses an event.

On SQLite every writing transaction holds the database's one write lock from BEGIN
(IMMEDIATE, see settings) to COMMIT and ids are taken under it, so id order is commit
order; xid is 0 there and the same (xid, id) order is id order.
"""

import dataclasses
import re

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

from vestibule.audit.models import Event

CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
CURSOR_PATTERN = CURSOR.pattern


@dataclasses.dataclass(frozen=True, order=True)
class Cursor:
    """Where a reader stands: the last served event's (xid, id). Written "xid.id"."""

    xid: int = 0
    id: int = 0

    def __str__(self) -> str:
        return f"{self.xid}.{self.id}"

    @classmethod
    def parse(cls, text: str) -> "Cursor":
        match = CURSOR.match(text)
        if match is None:
            raise ValueError(f"not a cursor: {text!r}")
        return cls(int(match[1]), int(match[2]))


def _finished() -> RawSQL:
    """The oldest transaction still in flight when this statement started."""
    return RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", ())


def events_page(*, after: Cursor | None = None, limit: int = 100) -> tuple[list[Event], Cursor]:
    """The next `limit` events after `after` in feed order, and the cursor to ask with next
    (the same one when nothing new is served yet)."""
    events = Event.objects.all()
    if connection.vendor == "postgresql":
        events = events.filter(xid__lt=_finished())
    if after is not None:
        # A row comparison: the (xid, id) index starts its ordered scan right at the cursor
        # and the LIMIT stops it, also before the table's statistics are known.
        later = RawSQL("(xid, id) > (%s, %s)", (after.xid, after.id), BooleanField())
        events = events.filter(later)
    page = list(events.order_by("xid", "id")[:limit])
    if not page:
        return page, after or Cursor()
    return page, Cursor(page[-1].xid, page[-1].id)


def event_document(event: Event) -> dict:
    """An event as the feed and the webhooks send it (JSON-ready)."""
    return {
        "id": event.pk,
        "kind": event.kind,
        "time": event.created_at.isoformat(),
        "subject": event.subject,
        "ip": event.ip_address,
        "data": event.data,
    }
