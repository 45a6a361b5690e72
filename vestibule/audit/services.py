"""The one way to write a security event."""

import contextlib
import contextvars
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from vestibule.audit.models import Event
from vestibule.batches import delete_in_batches
from vestibule.config import get_profile
from vestibule.throttle.addresses import client_ip

# Who acts when no staff account does: "operator" on the command line, "api:<client id>"
# for a management API client (set by the API around each request).
_acting = contextvars.ContextVar("vestibule_acting", default="operator")


@contextlib.contextmanager
def acting_as(label: str) -> Iterator[None]:
    """Name the non-person actor of every action inside the block (e.g. "api:abc123")."""
    token = _acting.set(label)
    try:
        yield
    finally:
        _acting.reset(token)


def actor_label(actor: Any) -> str:
    """The audit log's `by` of an action: the staff account's e-mail, else the current
    non-person actor ("operator", or an API client)."""
    return actor.email if actor is not None else _acting.get()


def event_record(
    kind: str,
    *,
    request: HttpRequest | None = None,
    account: Any = None,
    subject: str = "",
    **data: Any,
) -> Event:
    """Record `kind` (e.g. "sign_in.failed") for `account` or `subject`, with request origin."""
    ip_address, user_agent = None, ""
    if request is not None:
        ip_address = client_ip(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    if account is not None and getattr(account, "pk", None) is None:
        account = None
    if not subject and account is not None:
        subject = account.email
    # One transaction with what post_save writes (the webhooks' deliveries), without a
    # savepoint when the caller's transaction already holds it.
    with transaction.atomic(savepoint=False):
        return Event.objects.create(
            kind=kind,
            account=account,
            subject=subject[:254],
            ip_address=ip_address,
            user_agent=user_agent,
            data=data,
        )


def event_record_coalesced(kind: str, *, key: str, window: int = 60, **fields: Any) -> None:
    """Record `kind` for `key` at most once per `window` seconds.

    For refusals repeated by an attacker (a locked account, a blocked address): the first
    of each minute is logged, and no hammering turns into one database write per request.
    """
    if cache.add(f"audit:{kind}:{key}", 1, timeout=window):
        event_record(kind, **fields)


def events_pseudonymise(*, account: Any, pseudonym: str) -> int:
    """Replace the personal fields of `account`'s events by `pseudonym` (a deleted account).

    The events stay, so the log still tells what happened; who it was, from where and with
    which browser does not (GDPR art. 17, Law 25 s. 28.1). Returns how many were changed.
    """
    typed = [account.email.lower(), *([account.code] if getattr(account, "code", None) else [])]
    # Where the account acted on others (staff, an establishment's administrator), the events
    # are the others' and stay theirs; only the actor's name in them gives way.
    acted = list(Event.objects.filter(data__by=account.email.lower()))
    for event in acted:
        event.data["by"] = pseudonym
    Event.objects.bulk_update(acted, ["data"])
    return Event.objects.filter(Q(account_id=account.pk) | Q(subject__in=typed)).update(
        account=None, subject=pseudonym, ip_address=None, user_agent=""
    )


def events_purge(*, now: datetime | None = None) -> int:
    """Delete the events older than the profile's `retention.audit_days`; return how many.

    In batches, each its own short transaction: a year of events on a busy portal is
    millions of rows, and one DELETE of them all would hold the table's writers back.
    """
    cutoff = (now or timezone.now()) - timedelta(days=get_profile().retention.audit_days)
    purged = delete_in_batches(Event.objects.filter(created_at__lt=cutoff))
    if purged:
        # The purge leaves its own trace: a gap in the log is then explained, not suspect.
        event_record("audit.purged", count=purged, before=cutoff.isoformat())
    return purged
