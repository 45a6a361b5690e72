from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "vestibule.accounts"
    label = "accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        # The audit log's sign_in.succeeded event already records every sign-in, with the
        # address; Django's last_login would cost one more UPDATE per sign-in.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")

        from vestibule.accounts import privileges

        privileges.connect()
