"""The claim the three queues share (vestibule/queues.py: the outbox, back-channel logouts and
webhook deliveries): senders claiming at once never take a row twice. On PostgreSQL the
rows are locked (SKIP LOCKED); on SQLite a claim's transaction takes the write lock first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.concurrency import at_once
from vestibule.notifications.models import Message
from vestibule.queues import claim_due

pytestmark = pytest.mark.django_db(transaction=True)
CLAIM_TIMEOUT = timedelta(minutes=10)


def queue(count: int, **fields) -> list[int]:
    messages = Message.objects.bulk_create(
        Message(template="account_created", to=f"m{i}@example.org", subject="s", language="fr")
        for i in range(count)
    )
    ids = [message.pk for message in messages]
    if fields:
        Message.objects.filter(pk__in=ids).update(**fields)
    return ids


def claim_until_empty() -> list[int]:
    """A sender's rounds, five rows at a time, until nothing is due."""
    taken: list[int] = []
    while claimed := claim_due(Message.objects, claim_timeout=CLAIM_TIMEOUT, limit=5):
        taken += [message.pk for message in claimed]
    return taken


def test_eight_senders_at_once_take_each_row_once():
    ids = queue(200)
    rounds = at_once(*[claim_until_empty] * 8)
    assert not [r for r in rounds if isinstance(r, Exception)], rounds
    taken = [pk for sender in rounds for pk in sender]
    assert sorted(taken) == sorted(ids)  # every row, none twice
    assert set(Message.objects.values_list("state", flat=True)) == {"sending"}


def test_what_is_due_is_claimed_and_nothing_else():
    now = timezone.now()
    due = queue(2)
    queue(1, next_attempt_at=now + timedelta(minutes=1))  # not yet
    queue(1, state="sent")
    queue(1, state="failed")
    queue(1, state="sending", claimed_at=now - timedelta(minutes=5))  # its sender is alive
    abandoned = queue(1, state="sending", claimed_at=now - timedelta(minutes=11))
    claimed = claim_due(Message.objects, claim_timeout=CLAIM_TIMEOUT, limit=100)
    assert sorted(message.pk for message in claimed) == sorted(due + abandoned)


def test_only_the_ids_asked_for_and_the_longest_due_first():
    now = timezone.now()
    later, earlier, other = queue(3)
    Message.objects.filter(pk=later).update(next_attempt_at=now - timedelta(seconds=1))
    Message.objects.filter(pk=earlier).update(next_attempt_at=now - timedelta(minutes=1))
    claimed = claim_due(
        Message.objects, claim_timeout=CLAIM_TIMEOUT, limit=100, ids=[later, earlier]
    )
    assert [message.pk for message in claimed] == [earlier, later]
    assert Message.objects.get(pk=other).state == "ready"
