from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class TokensConfig(AppConfig):
    name = "vestibule.tokens"
    label = "tokens"
    verbose_name = _("Single-use secrets")
    jobs = (Job("tokens-purge", "vestibule.tokens.services.tokens_purge", every=3600),)
