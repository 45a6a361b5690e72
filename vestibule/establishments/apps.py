from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EstablishmentsConfig(AppConfig):
    name = "vestibule.establishments"
    label = "establishments"
    verbose_name = _("Establishments")

    def ready(self) -> None:
        from vestibule.accounts.services import account_activated
        from vestibule.establishments.receivers import practice_for_new_member

        account_activated.connect(practice_for_new_member, dispatch_uid="establishment_practice")
