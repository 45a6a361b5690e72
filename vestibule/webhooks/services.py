"""Webhooks: security events POSTed, signed, to the organisation's systems.

An endpoint subscribes to event kinds. A Delivery row is written in the transaction that
records the event (receivers.py), so the event and its deliveries commit together, like the
outbox: nothing is queued for an event rolled back, nothing lost if the process dies just
after the commit. The worker's `webhooks-deliver` job sends them: claimed with SKIP LOCKED
(several workers may run), READY → SENDING → DELIVERED, or back to READY with a back-off, and
FAILED after MAX_ATTEMPTS; a worker that dies mid-send leaves SENDING, claimed again after
CLAIM_TIMEOUT. Any answer but 2xx is a failure (redirects are not followed).
"""

import json
import logging
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from vestibule.audit.feed import event_document
from vestibule.audit.models import Event
from vestibule.audit.services import actor_label, event_record
from vestibule.notifications.sealing import InvalidToken, body_seal
from vestibule.queues import backoff, claim_due
from vestibule.webhooks.models import Delivery, Endpoint
from vestibule.webhooks.signing import HEADER, signature_header

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12  # with the back-off (queues.backoff), about 5 hours of trying
CLAIM_TIMEOUT = timedelta(minutes=5)
TIMEOUT = 10  # seconds a receiver has to answer
KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


class WebhookError(ValueError):
    """A webhook that cannot be registered or found, in words for the operator."""


def _kinds_check(kinds: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(kind.strip() for kind in kinds))
    if not unique:
        raise WebhookError(_("A webhook needs at least one event kind."))
    for kind in unique:
        if not KIND.match(kind):
            raise WebhookError(_("%(kind)s is not an event kind.") % {"kind": kind})
    return unique


@transaction.atomic
def endpoint_add(*, url: str, kinds: Iterable[str]) -> tuple[Endpoint, str]:
    """Register `url` for `kinds`; (the endpoint, its signing secret, shown this once)."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise WebhookError(_("%(url)s is not an http(s) URL.") % {"url": url}) from None
    kinds = _kinds_check(kinds)
    secret = "whsec_" + secrets.token_urlsafe(32)
    by = actor_label(None)
    endpoint = Endpoint.objects.create(
        url=url, kinds=kinds, sealed_secret=body_seal(secret), created_by=by
    )
    event_record("webhook.added", subject=url, by=by, webhook=endpoint.pk, kinds=kinds)
    return endpoint, secret


@transaction.atomic
def endpoint_remove(*, endpoint_id: int) -> Endpoint:
    """Remove a webhook and its deliveries (sent or not)."""
    endpoint = Endpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookError(_("No webhook %(id)s.") % {"id": endpoint_id})
    endpoint.delete()
    event_record("webhook.removed", subject=endpoint.url, by=actor_label(None), webhook=endpoint_id)
    return endpoint


def endpoints_list() -> list[Endpoint]:
    return list(Endpoint.objects.order_by("id"))


# Every audit event asks which endpoints want it: the answer is kept in the cache (shared
# by the nodes with Redis) and forgotten when an endpoint changes (receivers.py). A change
# made by another process without Redis (`vestibule webhook add` beside a portal on local
# memory) reaches the portal within this many seconds.
SUBSCRIPTIONS_KEY = "webhooks:subscriptions"
SUBSCRIPTIONS_SECONDS = 30


def _subscriptions() -> list[tuple[int, list[str]]]:
    """(endpoint id, event kinds) of every active endpoint."""
    found = cache.get(SUBSCRIPTIONS_KEY)
    if found is None:
        found = list(Endpoint.objects.filter(active=True).values_list("pk", "kinds"))
        cache.set(SUBSCRIPTIONS_KEY, found, SUBSCRIPTIONS_SECONDS)
    return found


def subscriptions_forget() -> None:
    cache.delete(SUBSCRIPTIONS_KEY)


def deliveries_queue(*, event: Event) -> list[Delivery]:
    """A Delivery per active endpoint subscribed to `event`'s kind (in the caller's transaction)."""
    endpoints = [pk for pk, kinds in _subscriptions() if event.kind in kinds]
    if not endpoints:
        return []
    return Delivery.objects.bulk_create(
        [Delivery(endpoint_id=endpoint, event=event) for endpoint in endpoints]
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer like any other non-2xx: the endpoint's URL is the one registered."""

    def redirect_request(self, *args, **kwargs) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def delivery_post(delivery: Delivery, *, secret: str) -> int:
    """POST the event to the endpoint, signed; the HTTP status (HTTPError for non-2xx)."""
    body = json.dumps(event_document(delivery.event), ensure_ascii=False).encode()
    request = urllib.request.Request(  # noqa: S310 (http and https only: endpoint_add checks)
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Vestibule-Webhooks/1",
            HEADER: signature_header(secret, body, int(timezone.now().timestamp())),
            "Vestibule-Delivery": str(delivery.pk),
            "Vestibule-Event-Kind": delivery.event.kind,
        },
    )
    with _opener.open(request, timeout=TIMEOUT) as response:
        return response.status


def _postpone(delivery: Delivery, *, status: int | None, error: str) -> datetime:
    attempts = delivery.attempts + 1
    state = Delivery.State.FAILED if attempts >= MAX_ATTEMPTS else Delivery.State.READY
    next_attempt_at = timezone.now() + backoff(attempts)
    Delivery.objects.filter(pk=delivery.pk).update(
        state=state,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        claimed_at=None,
        last_status=status,
        last_error=error[:2000],
    )
    log.warning("webhook %s not delivered (attempt %d): %s", delivery.endpoint.url, attempts, error)
    return next_attempt_at


def deliveries_send(*, limit: int = 100) -> int:
    """The worker's `webhooks-deliver` job: POST what is due; return how many were tried.

    When an endpoint fails, the rest of its claimed deliveries wait with it (same next
    attempt, no attempt counted) instead of each waiting for its own time-out.
    """
    claimed = claim_due(
        Delivery.objects.select_related("endpoint", "event"),
        claim_timeout=CLAIM_TIMEOUT,
        limit=limit,
    )
    down: dict[int, datetime] = {}
    tried = 0
    for delivery in claimed:
        endpoint = delivery.endpoint
        if endpoint.pk in down:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=Delivery.State.READY, claimed_at=None, next_attempt_at=down[endpoint.pk]
            )
            continue
        tried += 1
        try:
            secret = endpoint.secret()
        except InvalidToken:
            down[endpoint.pk] = _postpone(
                delivery, status=None, error="secret sealed with a key no longer configured"
            )
            continue
        try:
            status = delivery_post(delivery, secret=secret)
        except urllib.error.HTTPError as error:
            down[endpoint.pk] = _postpone(delivery, status=error.code, error=f"HTTP {error.code}")
            continue
        except Exception as error:  # unreachable, refused, timed out, TLS: try again later
            down[endpoint.pk] = _postpone(
                delivery, status=None, error=f"{type(error).__name__}: {error}"
            )
            continue
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.DELIVERED,
            attempts=delivery.attempts + 1,
            claimed_at=None,
            delivered_at=timezone.now(),
            last_status=status,
            last_error="",
        )
    return tried
