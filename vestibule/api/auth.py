"""OAuth 2.0 bearer tokens of the management API (RFC 6750): access tokens issued by
Vestibule's own authorization server to an API client through the client-credentials
grant. Routers say which scope an operation needs: `auth=scoped("accounts:write")`.

No token, or one unknown, expired or revoked: 401. A valid token without the scope: 403.
"""

import functools
import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security.base import AuthBase
from oauth2_provider.models import AccessToken

from vestibule.api.models import API_SCOPES, ApiClient
from vestibule.api.problems import insufficient_scope, unauthenticated
from vestibule.api.throttle import api_request_count
from vestibule.audit.services import acting_as

TOKEN_URL = "/o/token/"


class OAuth2ClientCredentials(AuthBase):
    """The API's security scheme (its class name names it in the OpenAPI description)."""

    openapi_type = "oauth2"
    openapi_flows = {
        "clientCredentials": {
            "tokenUrl": TOKEN_URL,
            "scopes": {scope: settings.OAUTH2_PROVIDER["SCOPES"][scope] for scope in API_SCOPES},
        }
    }

    def __init__(self, scopes: tuple[str, ...]) -> None:
        unknown = set(scopes) - set(API_SCOPES)
        assert not unknown, f"not API scopes: {unknown}"
        self.scopes = scopes
        super().__init__()

    def __call__(self, request: HttpRequest) -> ApiClient:
        header = request.headers.get("Authorization", "")
        scheme, _space, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            # RFC 6750 §3.1: no error code when the request carried no token at all.
            raise unauthenticated()
        token = _access_token(value.strip())
        if token is None or token.is_expired():
            raise unauthenticated(
                "The access token is unknown, expired or revoked.", error="invalid_token"
            )
        client = _client_of(token)
        if client is None:
            raise unauthenticated(
                "The access token was not issued to an API client.", error="invalid_token"
            )
        request.api_client = client  # type: ignore[attr-defined]
        api_request_count(client)
        # The token's scopes, and the client's today (a scope taken back stops at once).
        if not token.allow_scopes(self.scopes) or not client.holds(self.scopes):
            raise insufficient_scope(self.scopes)
        return client


def _access_token(value: str) -> AccessToken | None:
    if len(value) > 512:
        return None
    checksum = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return (
        AccessToken.objects.select_related("application__api_client")
        .filter(token_checksum=checksum)
        .first()
    )


def _client_of(token: AccessToken) -> ApiClient | None:
    if token.user_id is not None or token.application is None:
        return None
    try:
        return token.application.api_client
    except ApiClient.DoesNotExist:
        return None


@functools.cache
def scoped(*scopes: str) -> OAuth2ClientCredentials:
    """The auth of an operation needing every one of `scopes`."""
    return OAuth2ClientCredentials(tuple(scopes))


def acting_as_client(view_func: Callable[..., Any]) -> Callable[..., Any]:
    """Every audit event written while an operation runs names its client ("api:<id>")
    as the actor, wherever the domain service records it."""

    @functools.wraps(view_func)
    def operation(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        client = getattr(request, "api_client", None)
        if client is None:
            return view_func(request, *args, **kwargs)
        with acting_as(f"api:{client.client_id}"):
            return view_func(request, *args, **kwargs)

    return operation
