"""API clients as the operator registers them: the OAuth application django-oauth-toolkit
keeps (client credentials only), the ApiClient beside it, and an audit event for each change.

`vestibule api-client` and the admin console call these functions.
"""

import secrets
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from oauth2_provider.models import AccessToken, Application

from vestibule.api.models import API_SCOPES, DEFAULT_RATE_PER_MINUTE, ApiClient
from vestibule.audit.services import actor_label, event_record


class ApiClientError(ValueError):
    """What the operator asked cannot be done; the message says why."""


def _record(kind: str, client: ApiClient, *, actor: Any, request: HttpRequest | None, **data: Any):
    event_record(
        kind,
        request=request,
        by=actor_label(actor),
        client=client.client_id,
        name=client.name,
        **data,
    )


def _scopes_check(scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(scope.strip() for scope in scopes if scope.strip()))
    if not chosen:
        raise ApiClientError(
            _("An API client needs at least one scope (%(known)s).")
            % {"known": ", ".join(API_SCOPES)}
        )
    for scope in chosen:
        if scope not in API_SCOPES:
            raise ApiClientError(
                _("Unknown API scope %(scope)s (the scopes are: %(known)s).")
                % {"scope": scope, "known": ", ".join(API_SCOPES)}
            )
    return chosen


def _rate_check(rate_per_minute: int) -> int:
    if rate_per_minute < 1:
        raise ApiClientError(_("The rate limit is at least one request per minute."))
    return rate_per_minute


@transaction.atomic
def api_client_add(
    *,
    name: str,
    scopes: Iterable[str],
    rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> tuple[ApiClient, str]:
    """Register an API client; (the client, its clear secret). The secret is shown this
    once: django-oauth-toolkit stores only its hash."""
    name = name.strip()
    if not name:
        raise ApiClientError(_("An API client needs a name."))
    chosen = _scopes_check(scopes)
    secret = secrets.token_urlsafe(48)
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        redirect_uris="",
        client_secret=secret,
        hash_client_secret=True,
        skip_authorization=False,
    )
    client = ApiClient.objects.create(
        application=application,
        name=name,
        scopes=chosen,
        rate_per_minute=_rate_check(rate_per_minute),
        created_by=actor_label(actor),
    )
    _record(
        "api.client_added",
        client,
        actor=actor,
        request=request,
        scopes=chosen,
        rate_per_minute=client.rate_per_minute,
    )
    return client, secret


def api_client_of(client_id: str) -> ApiClient:
    client = (
        ApiClient.objects.select_related("application")
        .filter(application__client_id=client_id)
        .first()
    )
    if client is None:
        raise ApiClientError(
            _("No API client has the client ID %(client_id)s.") % {"client_id": client_id}
        )
    return client


def api_clients_list() -> list[ApiClient]:
    return list(ApiClient.objects.select_related("application").order_by("name", "pk"))


@transaction.atomic
def api_client_change(
    *,
    client: ApiClient,
    scopes: Iterable[str] | None = None,
    rate_per_minute: int | None = None,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> ApiClient:
    """Change a client's scopes or rate. Its tokens holding a scope it lost are revoked."""
    changed: dict[str, Any] = {}
    if scopes is not None:
        client.scopes = _scopes_check(scopes)
        changed["scopes"] = client.scopes
    if rate_per_minute is not None:
        client.rate_per_minute = _rate_check(rate_per_minute)
        changed["rate_per_minute"] = client.rate_per_minute
    client.save()
    if scopes is not None:
        for token in AccessToken.objects.filter(application=client.application):
            if not client.holds(token.scope.split()):
                token.revoke()
    _record("api.client_changed", client, actor=actor, request=request, **changed)
    return client


@transaction.atomic
def api_client_remove(
    *, client_id: str, actor: Any = None, request: HttpRequest | None = None
) -> None:
    """Remove a client: its application, and with it every token it holds."""
    client = api_client_of(client_id)
    _record("api.client_removed", client, actor=actor, request=request)
    client.application.delete()


@transaction.atomic
def api_client_secret_rotate(
    *, client_id: str, actor: Any = None, request: HttpRequest | None = None
) -> str:
    """A new secret, returned once; the old one stops working and so do the tokens it got."""
    client = api_client_of(client_id)
    application = client.application
    secret = secrets.token_urlsafe(48)
    application.client_secret = secret  # hashed by django-oauth-toolkit on save
    application.save(update_fields=["client_secret", "updated"])
    # Whoever held the old secret may hold its tokens too.
    for token in AccessToken.objects.filter(application=application):
        token.revoke()
    _record("api.client_secret_rotated", client, actor=actor, request=request)
    return secret
