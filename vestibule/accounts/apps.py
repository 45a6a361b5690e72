from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from vestibule.scheduling import Job


class AccountsConfig(AppConfig):
    name = "vestibule.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    jobs = (
        Job("purge-unactivated", "vestibule.accounts.services.account_purge_unactivated", 3600),
        # Django never deletes an expired session from the database by itself.
        Job("expired-sessions", "vestibule.accounts.sessions.sessions_purge_expired", 3600),
        Job("delegates-purge", "vestibule.accounts.lifecycle.delegates_purge", 3600),
        Job(
            "session-records-purge",
            "vestibule.accounts.session_records.session_records_purge",
            3600,
        ),
    )

    def ready(self) -> None:
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        # The audit log's sign_in.succeeded event already records every sign-in, with the
        # address; Django's last_login would cost one more UPDATE per sign-in.
        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")

        from vestibule.accounts import privileges, receivers  # noqa: F401 (connects them)

        privileges.connect()
