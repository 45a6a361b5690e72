"""Audit retention: events older than the profile's `retention.audit_days` are purged."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from vestibule import batches
from vestibule.audit.models import Event
from vestibule.audit.services import events_purge
from vestibule.config import PROFILES_DIR

pytestmark = pytest.mark.django_db


def event_aged(days: float, kind: str = "sign_in.succeeded") -> Event:
    event = Event.objects.create(kind=kind, subject=f"{days}@example.org")
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=days))
    return event


def test_events_past_a_year_are_purged_and_the_purge_is_recorded():
    old, kept = event_aged(366), event_aged(364)
    assert events_purge() == 1
    assert not Event.objects.filter(pk=old.pk).exists()
    assert Event.objects.filter(pk=kept.pk).exists()
    trace = Event.objects.get(kind="audit.purged")
    assert trace.data["count"] == 1


def test_nothing_due_purges_nothing_and_writes_no_trace():
    event_aged(10)
    assert events_purge() == 0
    assert not Event.objects.filter(kind="audit.purged").exists()


def test_the_profile_sets_how_long_events_are_kept(settings, tmp_path: Path):
    custom = tmp_path / "short.toml"
    text = (PROFILES_DIR / "default.toml").read_text()
    custom.write_text(text.replace("audit_days = 365", "audit_days = 30"))
    settings.VESTIBULE_PROFILE = str(custom)
    old, kept = event_aged(31), event_aged(29)
    assert events_purge() == 1
    assert set(Event.objects.exclude(kind="audit.purged").values_list("pk", flat=True)) == {kept.pk}
    assert Event.objects.filter(pk=old.pk).count() == 0


def test_a_large_backlog_goes_in_batches(monkeypatch):
    monkeypatch.setattr(batches, "BATCH", 2)
    for _ in range(5):
        event_aged(400)
    assert events_purge() == 5
    assert list(Event.objects.values_list("kind", flat=True)) == ["audit.purged"]
