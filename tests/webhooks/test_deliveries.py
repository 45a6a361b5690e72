import http.server
import json
import threading
import urllib.error
import urllib.request

import pytest
from django.db import connection, transaction
from django.utils import timezone

from vestibule.audit.services import event_record
from vestibule.scheduling import jobs
from vestibule.webhooks.models import Delivery, Endpoint
from vestibule.webhooks.services import MAX_ATTEMPTS, deliveries_send, endpoint_add
from vestibule.webhooks.signing import HEADER

pytestmark = pytest.mark.django_db


def subscribe(receiver, *kinds: str) -> Endpoint:
    endpoint, receiver.secret = endpoint_add(url=receiver.url, kinds=kinds)
    return endpoint


def due_now() -> None:
    """The back-off has passed."""
    Delivery.objects.update(next_attempt_at=timezone.now())


def test_a_subscribed_event_is_posted_signed_and_the_receiver_accepts_it(receiver):
    subscribe(receiver, "sign_in.failed")
    event = event_record("sign_in.failed", subject="marie@example.org", reason="password")
    assert deliveries_send() == 1
    assert receiver.accepted == [
        {
            "id": event.pk,
            "kind": "sign_in.failed",
            "time": event.created_at.isoformat(),
            "subject": "marie@example.org",
            "ip": None,
            "data": {"reason": "password"},
        }
    ]
    headers, _ = receiver.raw[0]
    assert headers[HEADER].startswith("t=")
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 204)
    assert delivery.delivered_at is not None
    assert deliveries_send() == 0  # delivered once


def test_the_receiver_refuses_a_replay_after_the_window_and_an_altered_body(receiver):
    subscribe(receiver, "sign_in.failed")
    event_record("sign_in.failed", subject="marie@example.org")
    deliveries_send()
    headers, body = receiver.raw[0]

    def post(body: bytes) -> int:
        request = urllib.request.Request(
            receiver.url, data=body, method="POST", headers={HEADER: headers[HEADER]}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    assert post(body) == 204  # the same request within the window: the signature holds
    altered = json.dumps({**json.loads(body), "subject": "mallory@example.org"}).encode()
    assert post(altered) == 400
    receiver.skew = 301  # the captured request, replayed six minutes later
    assert post(body) == 400
    assert len(receiver.accepted) == 2
    assert len(receiver.refused) == 2


def test_a_delivery_signed_with_another_secret_is_refused_and_retried(receiver):
    subscribe(receiver, "sign_in.failed")
    receiver.secret = "whsec_not_the_one"
    event_record("sign_in.failed", subject="marie@example.org")
    deliveries_send()
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("ready", 1, 400)
    assert delivery.next_attempt_at > timezone.now()
    assert receiver.accepted == []


def test_only_the_subscribed_kinds_reach_an_active_endpoint(receiver):
    subscribe(receiver, "sign_in.failed", "account.disabled")
    inactive = endpoint_add(url=receiver.url + "/old", kinds=["sign_in.succeeded"])[0]
    inactive.active = False
    inactive.save()
    for kind in ("sign_in.succeeded", "sign_in.failed", "sign_up.requested", "account.disabled"):
        event_record(kind, subject="marie@example.org")
    deliveries_send()
    assert sorted(receiver.kinds()) == ["account.disabled", "sign_in.failed"]
    assert Delivery.objects.count() == 2


def test_an_event_rolled_back_queues_nothing(receiver):
    subscribe(receiver, "sign_in.failed")
    with pytest.raises(RuntimeError), transaction.atomic():
        event_record("sign_in.failed", subject="marie@example.org")
        raise RuntimeError("the change failed")
    assert not Delivery.objects.exists()


def test_a_receiver_down_then_up_gets_the_delivery_later(receiver):
    subscribe(receiver, "sign_in.failed")
    receiver.stop()
    first = event_record("sign_in.failed", subject="marie@example.org")
    second = event_record("sign_in.failed", subject="paul@example.org")
    assert deliveries_send() == 1  # the first fails: the second waits with it, untried
    failed = Delivery.objects.get(event=first)
    waiting = Delivery.objects.get(event=second)
    assert (failed.state, failed.attempts, failed.last_status) == ("ready", 1, None)
    assert "Error" in failed.last_error
    assert (waiting.state, waiting.attempts) == ("ready", 0)
    assert waiting.next_attempt_at == failed.next_attempt_at > timezone.now()

    receiver.start()
    assert deliveries_send() == 0  # not before the back-off
    due_now()
    assert deliveries_send() == 2
    assert sorted(e["subject"] for e in receiver.accepted) == [
        "marie@example.org",
        "paul@example.org",
    ]
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_delivery_is_given_up_after_the_last_attempt(receiver):
    subscribe(receiver, "sign_in.failed")
    receiver.stop()
    event_record("sign_in.failed", subject="marie@example.org")
    Delivery.objects.update(attempts=MAX_ATTEMPTS - 2)
    deliveries_send()
    assert Delivery.objects.get().state == "ready"
    due_now()
    deliveries_send()
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    due_now()
    assert deliveries_send() == 0


def test_a_redirect_is_not_followed(receiver):
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("Location", receiver.url)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _, receiver.secret = endpoint_add(
            url=f"http://127.0.0.1:{server.server_address[1]}/", kinds=["sign_in.failed"]
        )
        event_record("sign_in.failed", subject="marie@example.org")
        deliveries_send()
    finally:
        server.shutdown()
        server.server_close()
    assert Delivery.objects.get().last_status == 307
    assert receiver.accepted == []


def test_the_secret_is_sealed_in_the_database(receiver):
    endpoint = subscribe(receiver, "sign_in.failed")
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_secret FROM webhooks_endpoint WHERE id = %s", [endpoint.pk])
        stored = cursor.fetchone()[0]
    assert receiver.secret.startswith("whsec_")
    assert receiver.secret not in stored
    assert Endpoint.objects.get().secret() == receiver.secret


def test_the_worker_runs_the_delivery_job():
    job = next(job for job in jobs() if job.name == "webhooks-deliver")
    assert job.callable() is deliveries_send
    assert job.every == 5


def test_staff_see_the_deliveries_with_their_status_read_only(receiver, admin_client):
    endpoint = subscribe(receiver, "sign_in.failed")
    event_record("sign_in.failed", subject="marie@example.org")
    deliveries_send()
    receiver.stop()
    event_record("sign_in.failed", subject="paul@example.org")
    deliveries_send()
    page = admin_client.get("/admin/webhooks/delivery/?state=delivered").content.decode()
    assert "sign_in.failed" in page and "204" in page
    page = admin_client.get("/admin/webhooks/delivery/").content.decode()
    assert page.count("sign_in.failed") == 2
    assert "ready" in page or "prêt" in page
    delivery = Delivery.objects.get(state="ready")
    assert admin_client.get(f"/admin/webhooks/delivery/{delivery.pk}/delete/").status_code == 403
    admin_client.post(f"/admin/webhooks/delivery/{delivery.pk}/change/", {"state": "delivered"})
    delivery.refresh_from_db()
    assert delivery.state == "ready"
    admin_client.post(
        "/admin/webhooks/delivery/", {"action": "retry_now", "_selected_action": [delivery.pk]}
    )
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()
    endpoint_page = admin_client.get(f"/admin/webhooks/endpoint/{endpoint.pk}/change/")
    assert receiver.secret not in endpoint_page.content.decode()
    assert endpoint.sealed_secret not in endpoint_page.content.decode()


def test_the_endpoints_kept_in_the_cache_follow_every_change(receiver):
    """Which endpoints want an event is kept in the cache between events: adding, turning
    off and removing an endpoint each reach the next event."""
    event_record("sign_in.failed", subject="before@example.org")  # the list is now cached
    endpoint = subscribe(receiver, "sign_in.failed")
    event_record("sign_in.failed", subject="added@example.org")
    endpoint.active = False
    endpoint.save()
    event_record("sign_in.failed", subject="off@example.org")
    endpoint.active = True
    endpoint.save()
    event_record("sign_in.failed", subject="on-again@example.org")
    deliveries_send()  # before the removal, which takes the endpoint's deliveries with it
    endpoint.delete()
    event_record("sign_in.failed", subject="removed@example.org")
    assert not Delivery.objects.filter(event__subject="removed@example.org").exists()
    with receiver.lock:
        subjects = [event["subject"] for event in receiver.accepted]
    assert subjects == ["added@example.org", "on-again@example.org"]
