"""Audit of what django-oauth-toolkit does on its own: tokens issued."""

from typing import Any

from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from vestibule.audit.services import event_record


@receiver(app_authorized)
def token_issued(sender: Any, request: Any, token: Any, **kwargs: Any) -> None:
    event_record(
        "oidc.token_issued",
        account=token.user,
        client=token.application.client_id if token.application else "",
        scopes=token.scope,
    )
