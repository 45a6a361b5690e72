"""Fixtures of the management API's tests: real API clients and real access tokens.

- `api_client_factory(scopes=[...], name=..., rate_per_minute=...)` registers an API client
  through `api_client_add` (an ApiClient beside a confidential client-credentials DOT
  Application) and returns an `ApiCredentials` (`.api_client`, `.client_id`, `.secret`).
- `api_token(scopes=[...], credentials=None)` obtains a REAL access token: it POSTs
  grant_type=client_credentials to /o/token/ (HTTP Basic client authentication) through
  Django's test client, for `credentials` or a new client holding `scopes`; the token
  asks for exactly `scopes` (None: no scope parameter, the client's own are given).
- `bearer(token)` (a plain function: `from tests.api.conftest import bearer`) gives the
  headers of a request carrying the token: `client.get(url, headers=bearer(token))`.

Example:
    def test_reads_an_account(client, api_token):
        token = api_token(["accounts:read"])
        answer = client.get("/api/v1/accounts/x@example.com", headers=bearer(token))
"""

import base64
import dataclasses
from collections.abc import Callable, Iterable

import pytest
from django.test import Client

from vestibule.api.clients import api_client_add
from vestibule.api.models import ApiClient


@dataclasses.dataclass
class ApiCredentials:
    api_client: ApiClient
    client_id: str
    secret: str

    def basic(self) -> dict[str, str]:
        raw = f"{self.client_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def token_request(
    credentials: ApiCredentials,
    scopes: Iterable[str] | None = None,
    *,
    client: Client | None = None,
):
    """The token endpoint's answer (a Django test response) to a client-credentials request."""
    data = {"grant_type": "client_credentials"}
    if scopes is not None:
        data["scope"] = " ".join(scopes)
    return (client or Client()).post("/o/token/", data, headers=credentials.basic())


@pytest.fixture
def api_client_factory(db) -> Callable[..., ApiCredentials]:
    def make(
        scopes: Iterable[str] = ("accounts:read",),
        *,
        name: str = "Membership system",
        rate_per_minute: int = 600,
    ) -> ApiCredentials:
        api_client, secret = api_client_add(
            name=name, scopes=list(scopes), rate_per_minute=rate_per_minute
        )
        return ApiCredentials(api_client, api_client.client_id, secret)

    return make


@pytest.fixture
def api_token(api_client_factory) -> Callable[..., str]:
    def obtain(
        scopes: Iterable[str] | None = ("accounts:read",),
        credentials: ApiCredentials | None = None,
    ) -> str:
        if credentials is None:
            credentials = api_client_factory(scopes=list(scopes or ("accounts:read",)))
        answer = token_request(credentials, scopes)
        assert answer.status_code == 200, answer.content
        return answer.json()["access_token"]

    return obtain
