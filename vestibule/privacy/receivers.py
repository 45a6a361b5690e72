from typing import Any

from django.contrib import messages
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from vestibule.accounts.models import Account
from vestibule.privacy.services import account_deletion_cancel, deletion_due_at


def deletion_cancel_at_sign_in(
    sender: Any, request: HttpRequest | None, user: Account, **kwargs: Any
) -> None:
    """Signing in during the grace period is how a member takes back a deletion request."""
    if user.deletion_requested_at is None:
        return
    due = deletion_due_at(user)
    if account_deletion_cancel(account=user, request=request) and request is not None:
        messages.info(
            request,
            _(
                "Your account's deletion, planned for %(date)s, is cancelled: you signed in. "
                "Your account stays as it was."
            )
            % {"date": date_format(localtime(due), "DATE_FORMAT")},
        )
