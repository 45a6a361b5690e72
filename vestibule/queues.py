"""Queues kept in a table: the outbox, the back-channel logouts and the webhooks' deliveries.

A row is written in the transaction of the change it reports and goes READY → SENDING →
sent, or back to READY with a back-off, or FAILED when its queue gives up. Several senders
may run at once (two workers, the thread of a page): a claim takes the due rows with
SELECT … FOR UPDATE SKIP LOCKED and marks them SENDING in one short transaction, so no
row is taken twice. A sender that dies mid-send leaves its rows SENDING; they are due
again once the queue's claim time-out has passed.

After commit, a thread of the process tries the new rows at once (`in_background`), so no
page waits for a server elsewhere; what it cannot send stays due for `vestibule worker`.
"""

import atexit
import logging
import threading
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import connections, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Model)


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min… capped at one hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def claim_due(
    rows: QuerySet[M],
    *,
    claim_timeout: timedelta,
    limit: int,
    ids: Iterable[int] | None = None,
) -> list[M]:
    """Up to `limit` due rows (of `ids` only, if given), the longest due first, now SENDING.

    Due: READY with its next attempt passed, or SENDING and claimed more than
    `claim_timeout` ago (its sender died). The model has `state` (a `State` with READY and
    SENDING), `next_attempt_at` and `claimed_at`; `rows` may join other tables
    (`select_related`): only the queue's own rows are locked.
    """
    model = rows.model
    now = timezone.now()
    due = Q(state=model.State.READY, next_attempt_at__lte=now) | Q(
        state=model.State.SENDING, claimed_at__lt=now - claim_timeout
    )
    with transaction.atomic():
        query = rows.select_for_update(skip_locked=True, of=("self",)).filter(due)
        if ids is not None:
            query = query.filter(pk__in=list(ids))
        claimed = list(query.order_by("next_attempt_at", "id")[:limit])
        model.objects.filter(pk__in=[row.pk for row in claimed]).update(
            state=model.State.SENDING, claimed_at=now
        )
    return claimed


_in_flight: set[threading.Thread] = set()
_in_flight_lock = threading.Lock()


def in_background(send: Callable[..., Any], ids: list[int], *, name: str) -> threading.Thread:
    """Run `send(ids=ids)` on a thread of this process (named `name`); the caller does not
    wait. A failure is logged: the rows stay due in their table for the worker."""
    thread = threading.Thread(target=_send_and_close, args=(send, ids), name=name, daemon=True)
    with _in_flight_lock:
        _in_flight.add(thread)
    thread.start()
    return thread


def _send_and_close(send: Callable[..., Any], ids: list[int]) -> None:
    try:
        send(ids=ids)
    except Exception:  # e.g. the database is away: the worker sends them later
        log.exception("%s: sending %s after commit failed", threading.current_thread().name, ids)
    finally:
        connections.close_all()  # this thread's own database connections
        with _in_flight_lock:
            _in_flight.discard(threading.current_thread())


@atexit.register
def background_wait(timeout: float = 15.0) -> None:
    """Wait for the sends in flight (at exit, so a stopping worker finishes them)."""
    with _in_flight_lock:
        threads = list(_in_flight)
    for thread in threads:
        thread.join(timeout)
