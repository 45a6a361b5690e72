"""audit:read — GET /api/v1/events: the SIEM's feed, in commit order, without gaps.

Transactional tests: on PostgreSQL the feed serves only the rows of finished transactions,
and a test wrapped in one open transaction would never see its own events served."""

import threading
import time

import pytest
from django.db import connection, transaction

from tests.api.conftest import bearer
from vestibule.audit.models import Event
from vestibule.audit.services import event_record

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/events"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs DATABASE_URL pointing at PostgreSQL (SQLite serialises its writers)",
)


def page(client, token: str, after: str | None = None, limit: int = 100) -> dict:
    params = {"limit": limit, **({"after": after} if after else {})}
    answer = client.get(URL, params, headers=bearer(token))
    assert answer.status_code == 200, answer.content
    return answer.json()


def read_until(client, token: str, after: str | None, count: int, timeout: float = 30) -> tuple:
    """Follow the cursor as a SIEM does until `count` events came (or the time is up).

    On PostgreSQL an event is served once every older transaction of the server has ended
    (other sessions' too), so the first polls may come back empty."""
    events, deadline = [], time.monotonic() + timeout
    while len(events) < count and time.monotonic() < deadline:
        answer = page(client, token, after)
        events += answer["events"]
        after = answer["next"]
        if not answer["events"]:
            time.sleep(0.1)
    return events, after


def record(*kinds: str) -> list[Event]:
    return [event_record(kind, subject=f"{kind}@example.org", n=i) for i, kind in enumerate(kinds)]


def test_the_events_come_in_order_with_their_fields_and_a_cursor(client, api_token):
    token = api_token(["audit:read"])
    Event.objects.all().delete()  # the token's own event ("oidc.token_issued")
    written = record("sign_in.failed", "account.disabled", "sign_out")
    events, cursor = read_until(client, token, None, 3)
    assert [e["id"] for e in events] == [e.pk for e in written]
    assert events[0] == {
        "id": written[0].pk,
        "kind": "sign_in.failed",
        "time": events[0]["time"],
        "subject": "sign_in.failed@example.org",
        "ip": None,
        "data": {"n": 0},
    }
    assert events[0]["time"].startswith(written[0].created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    # Nothing new: the same cursor back, to ask with again later.
    assert page(client, token, cursor) == {"events": [], "next": cursor}
    later = record("sign_in.succeeded")
    events, _ = read_until(client, token, cursor, 1)
    assert [e["id"] for e in events] == [later[0].pk]


def test_pages_of_limit_events_cover_the_feed_once(client, api_token):
    token = api_token(["audit:read"])
    Event.objects.all().delete()
    written = record(*[f"kind.n{i}" for i in range(7)])
    read_until(client, token, None, 7)  # all served
    seen, after = [], None
    for _ in range(4):
        answer = page(client, token, after, limit=3)
        seen.append([e["id"] for e in answer["events"]])
        after = answer["next"]
    ids = [e.pk for e in written]
    assert seen == [ids[0:3], ids[3:6], ids[6:7], []]


def test_no_token_is_401(client):
    answer = client.get(URL)
    assert answer.status_code == 401
    assert answer["Content-Type"] == "application/problem+json"


def test_a_token_without_audit_read_is_403(client, api_token):
    answer = client.get(URL, headers=bearer(api_token(["accounts:read"])))
    assert answer.status_code == 403
    assert answer.json()["type"] == "/api/v1/problems/insufficient-scope"
    assert 'scope="audit:read"' in answer["WWW-Authenticate"]


@pytest.mark.parametrize(
    "params", [{"after": "12"}, {"after": "1.x"}, {"limit": 0}, {"limit": 1001}]
)
def test_a_bad_cursor_or_limit_is_422(client, api_token, params):
    answer = client.get(URL, params, headers=bearer(api_token(["audit:read"])))
    assert answer.status_code == 422, answer.content
    assert answer["Content-Type"] == "application/problem+json"


@on_postgresql
def test_the_transaction_id_is_the_databases_not_the_inserts(db):
    with transaction.atomic():
        forged = Event.objects.create(kind="test.forged", xid=5)
        second = event_record("test.second")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (xid,) = cursor.fetchone()
    stored = dict(Event.objects.filter(pk__in=[forged.pk, second.pk]).values_list("pk", "xid"))
    assert stored == {forged.pk: xid, second.pk: xid}


def _writer(started: threading.Event, go: threading.Event, *, xid_first: bool = False):
    """A transaction that writes an event, then waits for `go` before it commits."""

    def run() -> None:
        try:
            with transaction.atomic():
                if xid_first:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_current_xact_id()")
                    started.set()
                    go.wait(30)
                    event_record("test.late_id")
                else:
                    event_record("test.early_id")
                    started.set()
                    go.wait(30)
        finally:
            connection.close()

    return threading.Thread(target=run)


@on_postgresql
@pytest.mark.parametrize("later_id_has_older_transaction", [False, True])
def test_an_event_committed_after_a_later_one_was_read_is_not_skipped(
    client, api_token, later_id_has_older_transaction
):
    """T1 writes event id N and stays open; T2 writes id N+1 and commits; a reader comes
    between them; then T1 commits. With `id > cursor` the reader, past N+1, never sees N.

    Both orders of the transactions' ids are tried: T2's transaction younger than T1's
    (the feed holds N+1 back until T1 ends), and older (it serves N+1 at once, and N
    later, after it in the feed's order)."""
    token = api_token(["audit:read"])
    Event.objects.all().delete()
    cursor = None
    t1_started, t1_go = threading.Event(), threading.Event()
    t2_started, t2_go = threading.Event(), threading.Event()
    t1 = _writer(t1_started, t1_go)
    t2 = _writer(t2_started, t2_go, xid_first=True)
    if later_id_has_older_transaction:
        t2.start()  # takes its transaction id first...
        assert t2_started.wait(10)
        t1.start()  # ...then T1 takes the lower event id
        assert t1_started.wait(10)
    else:
        t1.start()
        assert t1_started.wait(10)
        t2.start()
        assert t2_started.wait(10)
    t2_go.set()
    t2.join(10)
    assert not Event.objects.filter(kind="test.early_id").exists()  # T1 is still open
    served_between, cursor = read_until(client, token, cursor, 1, timeout=3)
    t1_go.set()
    t1.join(10)
    early, late = Event.objects.get(kind="test.early_id"), Event.objects.get(kind="test.late_id")
    assert early.pk < late.pk  # T2's event, committed first, has the later id
    served_after, _ = read_until(client, token, cursor, 2 - len(served_between))
    served = [e["id"] for e in served_between + served_after]
    assert sorted(served) == [early.pk, late.pk], (served_between, served_after)
