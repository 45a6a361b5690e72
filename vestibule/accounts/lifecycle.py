"""An account's life after sign-up, run by staff, operators and rules: disable, enable,
delete, and what the registry and establishments change by themselves.

Every action is a service function with its audit event naming the actor (a staff
account, or "operator" for the command line); the admin console, `vestibule account` and
the members' own pages call the same functions.
"""

from django.utils.translation import gettext_lazy as _


class AccountActionRefused(Exception):
    """An action the rules refuse; `code` says which rule, `message` says it to a person."""

    MESSAGES = {
        "unknown": _("No account has this e-mail, licence or user code."),
    }

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(self.MESSAGES.get(self.code, self.code))
