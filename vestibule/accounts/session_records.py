"""« Sessions actives »: the open sessions of an account, listed and ended one by one.

Sessions live in the database or in the cache (Redis), and neither lists them by account:
a SessionRecord, written at sign-in, does. It keeps the session key sealed (the outbox's
Fernet key), so ending a session from another browser deletes it from whichever store
holds it; the row is found from the session in hand by an HMAC of its key.
"""

from datetime import timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from vestibule.accounts.models import Account, SessionRecord
from vestibule.audit.services import actor_label, event_record
from vestibule.batches import delete_in_batches
from vestibule.config import get_profile
from vestibule.notifications.sealing import InvalidToken, body_seal, body_unseal
from vestibule.throttle.addresses import client_ip

SALT = "vestibule.accounts.session_record"
# The middleware refreshes a session's clock at most once a minute (middleware.SEEN_RESOLUTION).
SEEN_SLACK = timedelta(minutes=2)


def key_digest(session_key: str, secret: str | None = None) -> str:
    return salted_hmac(SALT, session_key, secret=secret, algorithm="sha256").hexdigest()


def _digests(session_key: str) -> list[str]:
    # A record written before SECRET_KEY was rotated is still found.
    return [
        key_digest(session_key, secret)
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


# First match wins: Edge and Opera say "Chrome" too, Chrome says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str) -> str:
    """« Firefox on Windows »: enough for a member to recognise a session of theirs."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown browser")


def _store(session_key: str | None = None) -> SessionBase:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key)


def session_record_open(*, request: HttpRequest, account: Account) -> None:
    """Record the session just opened for `account` (called at sign-in)."""
    session_key = request.session.session_key
    if not session_key:
        return
    now = timezone.now()
    # One statement (INSERT … ON CONFLICT DO UPDATE): no read first, no savepoint, so a
    # sign-in takes the database's write lock once for it.
    SessionRecord.objects.bulk_create(
        [
            SessionRecord(
                key_digest=key_digest(session_key),
                account=account,
                sealed_key=body_seal(session_key),
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
                ip_address=client_ip(request),
                created_at=now,
                last_seen_at=now,
            )
        ],
        update_conflicts=True,
        unique_fields=["key_digest"],
        update_fields=[
            "account",
            "sealed_key",
            "user_agent",
            "ip_address",
            "created_at",
            "last_seen_at",
        ],
    )


def session_record_touch(*, request: HttpRequest) -> None:
    """The session was used: its record's last use (at most once a minute, by the
    middleware). A session opened before records existed gets one now."""
    session_key = request.session.session_key
    if not session_key or not request.user.is_authenticated:
        return
    updated = SessionRecord.objects.filter(
        key_digest__in=_digests(session_key), account=request.user
    ).update(last_seen_at=timezone.now(), ip_address=client_ip(request))
    if not updated:
        session_record_open(request=request, account=request.user)


def session_record_rekey(*, request: HttpRequest, old_key: str) -> None:
    """The session got a new key (Django's cycle_key: a password change keeps this session
    under a new key): its record follows it."""
    new_key = request.session.session_key
    if not new_key or new_key == old_key or not request.user.is_authenticated:
        return
    old = SessionRecord.objects.filter(key_digest__in=_digests(old_key), account=request.user)
    if SessionRecord.objects.filter(key_digest__in=_digests(new_key)).exists():
        old.delete()
        return
    old.update(key_digest=key_digest(new_key), sealed_key=body_seal(new_key))


def session_is_current(record: SessionRecord, request: HttpRequest) -> bool:
    session_key = request.session.session_key
    return bool(session_key) and record.key_digest in _digests(session_key)


def session_records_of(account: Account) -> QuerySet[SessionRecord]:
    """The account's sessions still open: used within the idle time-out, opened within the
    absolute one (the others end at their next use, and their records with them)."""
    sessions = get_profile().sessions
    now = timezone.now()
    return SessionRecord.objects.filter(
        account=account,
        last_seen_at__gte=now - timedelta(minutes=sessions.idle_minutes) - SEEN_SLACK,
        created_at__gte=now - timedelta(hours=sessions.absolute_hours),
    ).order_by("-last_seen_at")


def session_records_purge(*, now: Any = None) -> int:
    """Delete the records of sessions past the profile's time-outs; return how many."""
    sessions = get_profile().sessions
    now = now or timezone.now()
    idle = now - timedelta(minutes=sessions.idle_minutes) - SEEN_SLACK
    absolute = now - timedelta(hours=sessions.absolute_hours)
    stale = SessionRecord.objects.filter(last_seen_at__lt=idle) | SessionRecord.objects.filter(
        created_at__lt=absolute
    )
    return delete_in_batches(stale)


def _session_delete(record: SessionRecord) -> None:
    """Delete the record's session from the store that holds it (database or cache)."""
    try:
        session_key = body_unseal(record.sealed_key)
    except InvalidToken:
        # Sealed under a secret no longer configured: the session's signature is no longer
        # accepted either; only the row is left.
        return
    _store(session_key).delete(session_key)


def records_end(records: QuerySet[SessionRecord], *, keep: HttpRequest | None = None) -> int:
    """End the sessions of `records` and delete them; `keep`'s own session stays (its
    store entry and its record). Returns how many sessions were ended."""
    ended = 0
    for record in list(records):
        if keep is not None and session_is_current(record, keep):
            continue
        _session_delete(record)
        record.delete()
        ended += 1
    return ended


@transaction.atomic
def session_end(
    *,
    account: Account,
    record_id: int,
    actor: Account | None,
    request: HttpRequest | None = None,
) -> bool:
    """End one session of `account` (« Terminer »): the browser that holds it is signed
    out at its next request. False when there is no such session (already ended)."""
    record = SessionRecord.objects.select_for_update().filter(pk=record_id, account=account).first()
    if record is None:
        return False
    _session_delete(record)
    event_record(
        "session.ended",
        request=request,
        account=account,
        by=actor_label(actor),
        session_ip=record.ip_address,
        session_browser=record.user_agent[:100],
    )
    record.delete()
    return True


@receiver(user_logged_out, dispatch_uid="accounts_session_record_forget")
def session_record_forget(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """A sign-out (the button, a time-out, a lockout) ends the session and its record."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        SessionRecord.objects.filter(key_digest__in=_digests(session.session_key)).delete()
