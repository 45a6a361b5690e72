"""Outbox retention: messages that left longer ago than `retention.sent_messages_days` go."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from vestibule.config import PROFILES_DIR
from vestibule.notifications.models import Message
from vestibule.notifications.services import messages_purge_sent

pytestmark = pytest.mark.django_db


def message(state: str, days: float, to: str) -> Message:
    at = timezone.now() - timedelta(days=days)
    return Message.objects.create(
        template="account_created", to=to, subject="s", language="fr", state=state,
        sent_at=at if state == Message.State.SENT else None, next_attempt_at=at,
    )  # fmt: skip


def test_sent_and_given_up_messages_past_the_delay_are_deleted_waiting_ones_never():
    message(Message.State.SENT, 31, "sent-old@example.org")
    message(Message.State.SENT, 29, "sent-recent@example.org")
    message(Message.State.FAILED, 31, "failed-old@example.org")
    # A message still waiting after a long outage is never lost to retention.
    message(Message.State.READY, 90, "waiting@example.org")
    message(Message.State.SENDING, 90, "sending@example.org")
    assert messages_purge_sent() == 2
    assert set(Message.objects.values_list("to", flat=True)) == {
        "sent-recent@example.org",
        "waiting@example.org",
        "sending@example.org",
    }


def test_the_profile_sets_how_long_sent_messages_are_kept(settings, tmp_path: Path):
    custom = tmp_path / "short.toml"
    text = (PROFILES_DIR / "default.toml").read_text()
    custom.write_text(text.replace("sent_messages_days = 30", "sent_messages_days = 7"))
    settings.VESTIBULE_PROFILE = str(custom)
    message(Message.State.SENT, 8, "old@example.org")
    message(Message.State.SENT, 6, "recent@example.org")
    assert messages_purge_sent() == 1
    assert list(Message.objects.values_list("to", flat=True)) == ["recent@example.org"]
