"""Bearer tokens of the management API, and who the authorization server gives them to.

Each rule of the validator (vestibule/oidc/validators.py) has its test here: an API scope
only to an API client holding it, never to a section; a member scope, the authorization
code grant, never to an API client; client credentials for API clients only."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from tests.api.conftest import bearer, token_request
from tests.factories import make_account
from tests.oidc.relying_party import REDIRECT_URI, section_register
from vestibule.api.clients import api_client_change
from vestibule.audit.models import Event

PROBE = "/api/v1/accounts/nobody@example.com"
WRITE_PROBE = "/api/v1/accounts/nobody@example.com/end-sessions"
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


def _problem(answer, status: int, slug: str) -> dict:
    assert answer.status_code == status, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    body = answer.json()
    assert body["type"] == f"/api/v1/problems/{slug}"
    assert body["status"] == status
    return body


# --- the token endpoint ---


def test_a_client_credentials_token_opens_an_operation_of_its_scope(client, api_token):
    token = api_token(["accounts:read"])
    answer = client.get(PROBE, headers=bearer(token))
    # Authenticated: the account is unknown, so 404 (not 401/403).
    _problem(answer, 404, "unknown")


def test_the_token_is_a_bearer_token_of_the_scopes_asked(client, api_client_factory):
    credentials = api_client_factory(["accounts:read", "accounts:write"])
    answer = token_request(credentials, ["accounts:read"])
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "accounts:read"
    assert "refresh_token" not in body and "id_token" not in body


def test_a_client_asking_no_scope_is_given_its_own(api_client_factory):
    credentials = api_client_factory(["registry:read", "audit:read"])
    answer = token_request(credentials, None)
    assert answer.status_code == 200, answer.content
    assert set(answer.json()["scope"].split()) == {"registry:read", "audit:read"}


def test_a_client_asking_a_scope_it_does_not_hold_is_refused(api_client_factory):
    credentials = api_client_factory(["accounts:read"])
    answer = token_request(credentials, ["accounts:read", "accounts:write"])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"
    assert not AccessToken.objects.filter(application=credentials.api_client.application).exists()


@pytest.mark.parametrize("scope", ["openid", "profile", "email", "membership"])
def test_an_api_client_never_gets_a_member_scope(api_client_factory, scope):
    credentials = api_client_factory(["accounts:read"])
    answer = token_request(credentials, [scope])
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_a_wrong_secret_is_refused_and_audited(api_client_factory):
    credentials = api_client_factory(["accounts:read"])
    credentials.secret = "not-the-secret"
    answer = token_request(credentials, ["accounts:read"])
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    refused = Event.objects.get(kind="oidc.token_refused")
    assert refused.data["client"] == credentials.client_id
    assert refused.data["grant_type"] == "client_credentials"


def test_a_token_issued_is_audited_with_the_client(api_client_factory):
    credentials = api_client_factory(["accounts:read"])
    assert token_request(credentials, ["accounts:read"]).status_code == 200
    issued = Event.objects.get(kind="oidc.token_issued")
    assert issued.account is None
    assert issued.data == {"client": credentials.client_id, "scopes": "accounts:read"}


def test_client_credentials_are_refused_to_an_application_that_is_no_api_client(client, db):
    # Registered by hand in DOT's admin, without the ApiClient row that gives it scopes.
    application = Application.objects.create(
        name="Bare",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret="a-secret-long-enough-for-this",
    )
    answer = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "openid"},
        headers=_basic(application.client_id, "a-secret-long-enough-for-this"),
    )
    assert answer.status_code in {400, 401}
    assert answer.json()["error"] == "unauthorized_client"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    import base64

    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


# --- the authorization endpoint: sections and API clients kept apart ---


def _authorize(client, client_id: str, scope: str):
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "s",
        "nonce": "n",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return client.get(f"/o/authorize/?{urlencode(params)}")


def test_a_section_never_gets_an_api_scope(client, db):
    application, _secret = section_register()
    answer = _authorize(client, application.client_id, "openid accounts:write")
    assert answer.status_code == 302
    location = answer["Location"]
    assert location.startswith(REDIRECT_URI)
    assert parse_qs(urlparse(location).query)["error"] == ["invalid_scope"]


def test_a_section_still_gets_its_member_scopes(client, db):
    application, _secret = section_register()
    answer = _authorize(client, application.client_id, "openid profile email membership")
    # Valid: the member is sent to sign in first.
    assert answer.status_code == 302
    assert answer["Location"].startswith("/login/")


def test_an_api_client_never_gets_an_authorization_code(client, api_client_factory):
    credentials = api_client_factory(["accounts:read"])
    # Even if its application were changed in DOT's admin to the code grant.
    Application.objects.filter(pk=credentials.api_client.application_id).update(
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, redirect_uris=REDIRECT_URI
    )
    answer = _authorize(client, credentials.client_id, "accounts:read")
    assert answer.status_code == 302
    assert parse_qs(urlparse(answer["Location"]).query)["error"] == ["unauthorized_client"]


def test_an_api_client_changed_to_the_code_grant_gets_no_token_by_that_grant(
    client, api_client_factory
):
    credentials = api_client_factory(["accounts:read"])
    Application.objects.filter(pk=credentials.api_client.application_id).update(
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, redirect_uris=REDIRECT_URI
    )
    answer = client.post(
        "/o/token/",
        {"grant_type": "authorization_code", "code": "x" * 30, "redirect_uri": REDIRECT_URI},
        headers=credentials.basic(),
    )
    assert answer.status_code in {400, 401}
    assert answer.json()["error"] == "unauthorized_client"


# --- the API's bearer check ---


def test_no_token_is_401_with_a_bearer_challenge_and_no_error_code(client, db):
    answer = client.get(PROBE)
    _problem(answer, 401, "unauthenticated")
    assert answer["WWW-Authenticate"] == 'Bearer realm="vestibule-api"'


def test_another_scheme_is_401(client, api_client_factory):
    credentials = api_client_factory(["accounts:read"])
    _problem(client.get(PROBE, headers=credentials.basic()), 401, "unauthenticated")


def test_an_unknown_token_is_401_invalid_token(client, db):
    answer = client.get(PROBE, headers=bearer("made-up-token"))
    _problem(answer, 401, "unauthenticated")
    assert 'error="invalid_token"' in answer["WWW-Authenticate"]


def test_an_expired_token_is_401(client, api_token):
    token = api_token(["accounts:read"])
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    answer = client.get(PROBE, headers=bearer(token))
    _problem(answer, 401, "unauthenticated")
    assert 'error="invalid_token"' in answer["WWW-Authenticate"]


def test_a_revoked_token_is_401(client, api_client_factory, api_token):
    credentials = api_client_factory(["accounts:read"])
    token = api_token(["accounts:read"], credentials)
    revoked = client.post("/o/revoke_token/", {"token": token}, headers=credentials.basic())
    assert revoked.status_code == 200
    _problem(client.get(PROBE, headers=bearer(token)), 401, "unauthenticated")


def test_a_token_without_the_scope_is_403_naming_it(client, api_client_factory, api_token):
    credentials = api_client_factory(["accounts:read", "accounts:write"])
    token = api_token(["accounts:read"], credentials)
    answer = client.post(WRITE_PROBE, headers=bearer(token))
    _problem(answer, 403, "insufficient-scope")
    challenge = answer["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="accounts:write"' in challenge


def test_a_scope_taken_back_from_the_client_stops_its_tokens(client, api_client_factory, api_token):
    credentials = api_client_factory(["accounts:read", "audit:read"])
    token = api_token(["accounts:read", "audit:read"], credentials)
    # As an operator editing the row in the admin would (api_client_change revokes as well).
    credentials.api_client.scopes = ["audit:read"]
    credentials.api_client.save()
    _problem(client.get(PROBE, headers=bearer(token)), 403, "insufficient-scope")


def test_changing_a_clients_scopes_revokes_its_tokens_holding_a_lost_one(
    client, api_client_factory, api_token
):
    credentials = api_client_factory(["accounts:read", "audit:read"])
    token = api_token(["accounts:read"], credentials)
    kept = api_token(["audit:read"], credentials)
    api_client_change(client=credentials.api_client, scopes=["audit:read"])
    _problem(client.get(PROBE, headers=bearer(token)), 401, "unauthenticated")
    assert AccessToken.objects.filter(token_checksum=_checksum(kept)).exists()


def _checksum(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


def test_a_members_token_opens_no_api_operation(client, db):
    account = make_account()
    application, _secret = section_register()
    # A member's access token for a section: a user, no API client.
    AccessToken.objects.create(
        user=account,
        application=application,
        token="member-token-0123456789",
        scope="openid",
        expires=timezone.now() + timedelta(minutes=5),
    )
    answer = client.get(PROBE, headers=bearer("member-token-0123456789"))
    _problem(answer, 401, "unauthenticated")


def test_a_removed_clients_token_is_401(client, api_client_factory, api_token):
    from vestibule.api.clients import api_client_remove

    credentials = api_client_factory(["accounts:read"])
    token = api_token(["accounts:read"], credentials)
    api_client_remove(client_id=credentials.client_id)
    _problem(client.get(PROBE, headers=bearer(token)), 401, "unauthenticated")


def test_a_rotated_secret_ends_the_old_tokens_and_the_old_secret(
    client, api_client_factory, api_token
):
    from vestibule.api.clients import api_client_secret_rotate

    credentials = api_client_factory(["accounts:read"])
    token = api_token(["accounts:read"], credentials)
    old_secret = credentials.secret
    new_secret = api_client_secret_rotate(client_id=credentials.client_id)
    _problem(client.get(PROBE, headers=bearer(token)), 401, "unauthenticated")
    assert token_request(credentials, ["accounts:read"]).status_code == 401
    credentials.secret = new_secret
    assert new_secret != old_secret
    assert token_request(credentials, ["accounts:read"]).status_code == 200


# --- a real OAuth client library over HTTP ---


@pytest.mark.django_db(transaction=True)
def test_authlib_gets_a_token_and_calls_the_api(live_server, api_client_factory):
    from authlib.integrations.requests_client import OAuth2Session

    credentials = api_client_factory(["accounts:read"])
    make_account()
    session = OAuth2Session(credentials.client_id, credentials.secret, scope="accounts:read")
    token = session.fetch_token(f"{live_server.url}/o/token/", grant_type="client_credentials")
    assert token["token_type"].lower() == "bearer"
    answer = session.get(f"{live_server.url}/api/v1/accounts/marie@example.org")
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == "marie@example.org"
