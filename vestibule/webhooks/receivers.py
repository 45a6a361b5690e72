from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from vestibule.audit.models import Event
from vestibule.webhooks.services import deliveries_queue


@receiver(post_save, sender=Event, dispatch_uid="webhooks.deliveries_queue")
def event_saved(sender: type[Event], instance: Event, created: bool, **kwargs: Any) -> None:
    # In the event's own transaction: both commit, or neither (an outbox, not on_commit).
    if created:
        deliveries_queue(event=instance)
