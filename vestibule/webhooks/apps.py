from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Security events pushed to the organisation's systems: signed, queued like the outbox,
    retried with back-off."""

    name = "vestibule.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
