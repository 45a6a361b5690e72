from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class OidcConfig(AppConfig):
    name = "vestibule.oidc"
    label = "oidc"
    verbose_name = _("Members' sections (OpenID Connect)")
    # The sections' back-channel logouts wait in a queue of their own, retried like e-mails.
    jobs = (Job("logout-deliveries", "vestibule.oidc.logout.deliveries_send", every=5),)

    def ready(self) -> None:
        from vestibule.oidc import receivers  # noqa: F401 (connects the audit receivers)
