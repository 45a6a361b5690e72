from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    """Staff and operators running accounts' lives: the admin console's account page and
    the `vestibule account` and `create-establishment` commands. Above the domain apps,
    like web: it calls their services and holds no rule of its own."""

    name = "vestibule.support"
    label = "support"
    verbose_name = _("Support")
