from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class NotificationsConfig(AppConfig):
    name = "vestibule.notifications"
    label = "notifications"
    verbose_name = _("E-mail outbox")
    jobs = (
        Job("outbox", "vestibule.notifications.services.messages_send_round", every=5),
        Job("sent-messages-purge", "vestibule.notifications.services.messages_purge_sent", 3600),
    )
