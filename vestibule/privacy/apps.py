from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """A member's own data (Law 25, GDPR): download it, ask for the account's deletion.
    Above the domain apps: the export gathers accounts, registry, establishments, coverage
    and audit."""

    name = "vestibule.privacy"
    label = "privacy"
    verbose_name = _("Privacy")
