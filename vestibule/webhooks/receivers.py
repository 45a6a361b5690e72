from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from vestibule.audit.models import Event
from vestibule.webhooks.models import Endpoint
from vestibule.webhooks.services import deliveries_queue, subscriptions_forget


@receiver(post_save, sender=Event, dispatch_uid="webhooks.deliveries_queue")
def event_saved(sender: type[Event], instance: Event, created: bool, **kwargs: Any) -> None:
    # In the event's own transaction: both commit, or neither (an outbox, not on_commit).
    if created:
        deliveries_queue(event=instance)


@receiver(post_save, sender=Endpoint, dispatch_uid="webhooks.endpoint_saved")
@receiver(post_delete, sender=Endpoint, dispatch_uid="webhooks.endpoint_deleted")
def endpoint_changed(sender: type[Endpoint], **kwargs: Any) -> None:
    # Now, and again once committed: a request between the two may have read the old list.
    subscriptions_forget()
    transaction.on_commit(subscriptions_forget)
