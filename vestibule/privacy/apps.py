from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class PrivacyConfig(AppConfig):
    """A member's own data (Law 25, GDPR): download it, ask for the account's deletion.
    Above the domain apps: the export gathers accounts, registry, establishments, coverage
    and audit."""

    name = "vestibule.privacy"
    label = "privacy"
    verbose_name = _("Privacy")
    jobs = (Job("deletions_due", "vestibule.privacy.services.deletions_due", every=3600),)

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from vestibule.privacy.receivers import deletion_cancel_at_sign_in

        user_logged_in.connect(deletion_cancel_at_sign_in, dispatch_uid="privacy_deletion_cancel")
