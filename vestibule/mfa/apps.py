from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MfaConfig(AppConfig):
    """Second factors: passkeys (WebAuthn), authenticator apps (TOTP) and recovery codes."""

    name = "vestibule.mfa"
    label = "mfa"
    verbose_name = _("Second factor")

    def ready(self) -> None:
        from vestibule.mfa import receivers  # noqa: F401 (connects them)
