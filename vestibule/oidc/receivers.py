"""Audit of what django-oauth-toolkit does on its own: tokens issued; and the sign-outs
that the sections must hear of."""

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from vestibule.accounts.sessions import sessions_ended
from vestibule.audit.services import event_record
from vestibule.oidc.logout import backchannel_logout


@receiver(app_authorized)
def token_issued(sender: Any, request: Any, token: Any, **kwargs: Any) -> None:
    event_record(
        "oidc.token_issued",
        account=token.user,
        client=token.application.client_id if token.application else "",
        scopes=token.scope,
    )


# Signing out of Vestibule signs out of the sections (back-channel logout, logout.py): a
# single sign-out (Django's user_logged_out: the sign-out button, a session timed out, the
# end_session endpoint), and every session at once (accounts' sessions_ended: "sign out
# everywhere", a password change or reset).
@receiver(user_logged_out)
def signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None and getattr(user, "is_authenticated", False):
        backchannel_logout(account=user, request=request, reason="sign_out")


@receiver(sessions_ended)
def sessions_all_ended(sender: Any, account: Any, request: Any, reason: str, **kwargs: Any) -> None:
    backchannel_logout(account=account, request=request, reason=reason)
