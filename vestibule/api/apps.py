from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    """The management API (/api/v1/): routers only, every rule stays in the domain services.
    Its clients authenticate with OAuth 2.0 client credentials from Vestibule's own
    authorization server (django-oauth-toolkit)."""

    name = "vestibule.api"
    label = "api"
    verbose_name = _("Management API")
