import pytest
from django.test import RequestFactory

from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.audit.services import event_record

pytestmark = pytest.mark.django_db


def test_an_event_keeps_who_what_when_and_where():
    account = make_account()
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox")
    event = event_record("sign_in.succeeded", request=request, account=account, detail=1)
    stored = Event.objects.get(pk=event.pk)
    assert (stored.kind, stored.account, stored.subject) == (
        "sign_in.succeeded",
        account,
        account.email,
    )
    assert (stored.ip_address, stored.user_agent, stored.data) == (
        "203.0.113.9",
        "Firefox",
        {"detail": 1},
    )
    assert stored.created_at is not None


def test_staff_read_the_log_in_the_admin_but_cannot_change_it(admin_client):
    event_record("sign_in.failed", subject="someone@example.org")
    listing = admin_client.get("/admin/audit/event/")
    assert listing.status_code == 200
    assert b"someone@example.org" in listing.content
    # The superuser's own creation is in the log too (account.privileges_changed).
    event = Event.objects.get(kind="sign_in.failed")
    before = Event.objects.count()
    assert (
        admin_client.post(f"/admin/audit/event/{event.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert Event.objects.count() == before


def test_coalesced_events_are_written_once_per_window():
    from vestibule.audit.services import event_record_coalesced

    for _ in range(5):
        event_record_coalesced("sign_in.refused_locked", key="42", subject="a@example.org")
    event_record_coalesced("sign_in.refused_locked", key="43", subject="b@example.org")
    assert sorted(Event.objects.values_list("subject", flat=True)) == [
        "a@example.org",
        "b@example.org",
    ]
