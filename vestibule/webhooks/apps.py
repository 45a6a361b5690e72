from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class WebhooksConfig(AppConfig):
    """Security events pushed to the organisation's systems: signed, queued like the outbox,
    retried with back-off."""

    name = "vestibule.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
    jobs = (Job("webhooks-deliver", "vestibule.webhooks.services.deliveries_send", 5),)

    def ready(self) -> None:
        from vestibule.webhooks import receivers  # noqa: F401 (connects the signal)
