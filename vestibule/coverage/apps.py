from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class CoverageConfig(AppConfig):
    name = "vestibule.coverage"
    label = "coverage"
    verbose_name = _("Coverage")
    # Records imported without --send-invitations get their access code within the hour.
    jobs = (
        Job("coverage-invitations", "vestibule.coverage.services.coverage_invitations_send", 3600),
    )

    def ready(self) -> None:
        from vestibule.accounts.services import account_activated
        from vestibule.coverage.receivers import coverage_for_new_account

        account_activated.connect(coverage_for_new_account, dispatch_uid="coverage_link_by_email")
