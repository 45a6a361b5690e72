from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OidcConfig(AppConfig):
    name = "vestibule.oidc"
    label = "oidc"
    verbose_name = _("Members' sections (OpenID Connect)")

    def ready(self) -> None:
        from vestibule.oidc import receivers  # noqa: F401 (connects the audit receivers)
