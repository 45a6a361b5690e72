"""Purges work a batch at a time, each batch its own transaction (issue 18): a year of
audit events, or a day of expired sessions, never holds the writers back for the whole
purge. Each purge below is given five stale rows and batches of two."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from tests.factories import make_account
from vestibule import batches
from vestibule.accounts.models import SessionRecord
from vestibule.accounts.session_records import session_records_purge
from vestibule.accounts.sessions import sessions_purge_expired
from vestibule.audit.models import Event
from vestibule.audit.services import events_purge
from vestibule.notifications.models import Message
from vestibule.notifications.services import messages_purge_sent
from vestibule.tokens.models import Token
from vestibule.tokens.services import tokens_purge

pytestmark = pytest.mark.django_db
OLD = timedelta(days=400)


def stale_events():
    for _ in range(5):
        event = Event.objects.create(kind="sign_in.failed", subject="x")
        Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - OLD)


def stale_tokens():
    for i in range(5):
        Token.objects.create(purpose="reset", digest=f"{i:064d}", expires_at=timezone.now() - OLD)


def stale_messages():
    for i in range(5):
        Message.objects.create(
            template="account_created", to=f"m{i}@example.org", subject="s", language="fr",
            state=Message.State.SENT, sent_at=timezone.now() - OLD,
        )  # fmt: skip


def stale_session_records():
    account = make_account()
    for i in range(5):
        SessionRecord.objects.create(
            account=account, key_digest=f"{i:064d}", sealed_key="x",
            created_at=timezone.now() - OLD, last_seen_at=timezone.now() - OLD,
        )  # fmt: skip


def stale_sessions(settings):
    settings.SESSION_ENGINE = "vestibule.accounts.session_engines.db"
    for _ in range(5):
        store = SessionStore()
        store.create()
        Session.objects.filter(session_key=store.session_key).update(
            expire_date=timezone.now() - OLD
        )


PURGES = {
    "audit events": (stale_events, events_purge, Event),
    "tokens": (stale_tokens, tokens_purge, Token),
    "sent messages": (stale_messages, messages_purge_sent, Message),
    "session records": (stale_session_records, session_records_purge, SessionRecord),
    "sessions": (stale_sessions, sessions_purge_expired, Session),
}


@pytest.mark.parametrize("name", PURGES)
def test_a_purge_deletes_a_batch_per_transaction(name, monkeypatch, settings):
    stale, purge, model = PURGES[name]
    stale(settings) if stale is stale_sessions else stale()
    monkeypatch.setattr(batches, "BATCH", 2)
    table = model._meta.db_table
    depth = len(connection.atomic_blocks)
    deletes: list[int] = []  # the transaction depth of each DELETE of the purged table

    def watch(execute, sql, params, many, context):
        if sql.startswith("DELETE") and table in sql.split("WHERE")[0]:
            deletes.append(len(connection.atomic_blocks))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        purge()
    # Three batches (2 + 2 + 1), each in a transaction of its own, none around them all.
    assert deletes == [depth + 1] * 3
    remaining = model.objects.exclude(**{"kind": "audit.purged"} if model is Event else {})
    assert not remaining.exists()
