"""django-oauth-toolkit's validator, told Vestibule's claims, subjects, PKCE rule, the
member's real sign-in time, and what to do when an authorization code comes back twice."""

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from vestibule.audit.services import event_record
from vestibule.oidc import claims

# Kept with the code in the Grant's `claims` JSON (DOT stores the request's `claims`
# parameter there and only this validator reads it back), so no table of our own is needed:
AUTH_TIME = "_vestibule_auth_time"  # when the member signed in, for the id_token
USED_BY = "_vestibule_used_by"  # the token family the code was exchanged for
AMR = "_vestibule_amr"  # how the member signed in (RFC 8176), for the id_token
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; the syntax allows 43 to 128.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


# The scopes a members' section may ask for; every other scope of the server belongs to the
# management API, granted only to an API client holding it (vestibule/api).
MEMBER_SCOPES = frozenset({"openid", *claims.CLAIM_SCOPES.values()})


def _api_client(client: Any) -> Any:
    """The API client of an application (its `api_client` row), None for a section.
    Reached by the relation the API's model declares: this app does not import the API."""
    if client is None:
        return None
    try:
        return client.api_client
    except (ObjectDoesNotExist, AttributeError):
        return None


# The sections read once per authorization request: the authorization view's own checks and
# oauthlib's validation, done again on a new request object at each step, read the same
# Application four times. Set by AuthorizeView.dispatch for the request's duration only.
_applications: ContextVar[dict[str, Application] | None] = ContextVar(
    "vestibule_oidc_applications", default=None
)


@contextmanager
def applications_read_once() -> Iterator[None]:
    token = _applications.set({})
    try:
        yield
    finally:
        _applications.reset(token)


def application_of(client_id: str) -> Application | None:
    """The Application of `client_id` with its Section, read once in a request."""
    known = _applications.get()
    if known is not None and client_id in known:
        return known[client_id]
    application = Application.objects.select_related("section").filter(client_id=client_id).first()
    if known is not None and application is not None:
        known[client_id] = application
    return application


class VestibuleValidator(OAuth2Validator):
    oidc_claim_scope = {"sub": "openid", **claims.CLAIM_SCOPES}

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        """The member's claims, for the id_token and userinfo alike (not amr and acr: they
        describe a sign-in, which only the id_token's code knows; userinfo would guess)."""
        account = request.user
        return {**claims.claims_of(account), "sub": claims.subject_of(account)}

    def get_discovery_claims(self, request: Any) -> list[str]:
        return ["sub", "amr", "acr", "auth_time", *claims.CLAIM_SCOPES]

    def _load_application(self, client_id: str, request: Any) -> Application | None:
        known = _applications.get()
        if known is not None and not request.client and client_id in known:
            # DOT's own cached-client path then checks it (same client_id, still usable).
            request.client = known[client_id]
        client = super()._load_application(client_id, request)
        if known is not None and client is not None:
            known.setdefault(client_id, client)
        return client

    # --- who may ask for which scope, by which grant ---

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs) -> bool:
        """A section gets member scopes only; an API client only the API scopes it holds."""
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        api_client = _api_client(client)
        if api_client is None:
            return set(scopes) <= MEMBER_SCOPES
        return not (set(scopes) & MEMBER_SCOPES) and set(scopes) <= set(api_client.scopes)

    def get_default_scopes(self, client_id, request, *args, **kwargs) -> list[str]:
        """An API client asking for no scope is given all of its own (never `openid`)."""
        api_client = _api_client(request.client)
        if api_client is not None:
            return list(api_client.scopes)
        return super().get_default_scopes(client_id, request, *args, **kwargs)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        """Client credentials are an API client's grant, and its only one: whatever its
        application was changed to, it never obtains a code or a member's token."""
        is_api_client = _api_client(client or request.client) is not None
        if is_api_client != (grant_type == "client_credentials"):
            return False
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        if _api_client(client) is not None:
            return False
        return super().validate_response_type(
            client_id, response_type, client, request, *args, **kwargs
        )

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        """Required of public clients (they hold no secret); accepted from every client."""
        client = request.client or self._load_application(client_id, request)
        return client is None or client.client_type == client.CLIENT_PUBLIC

    # --- prompt=none: answered from what the authorization view saw (views.py) ---

    def validate_silent_login(self, request: Any) -> bool:
        return request.headers.get("VESTIBULE_OIDC_SILENT_LOGIN") == "1"

    def validate_silent_authorization(self, request: Any) -> bool:
        return request.headers.get("VESTIBULE_OIDC_SILENT_CONSENT") == "1"

    # --- auth_time: the time this member signed in, not the time of the token request ---

    def _create_authorization_code(self, request: Any, code: dict, expires: Any = None) -> Grant:
        # The consent form posts these back in hidden fields: checked again here, where the
        # Grant's columns (nonce 255, code_challenge 128) would otherwise fail on PostgreSQL.
        if len(request.nonce or "") > 255 or (
            request.code_challenge and not CODE_CHALLENGE.fullmatch(request.code_challenge)
        ):
            raise errors.InvalidRequestError(
                description="nonce or code_challenge malformed.", request=request
            )
        asked = request.claims if isinstance(request.claims, dict) else {}
        request.claims = {
            **asked,
            AUTH_TIME: int(getattr(request, "auth_time", 0) or 0),
            AMR: list(getattr(request, "amr", None) or []),
        }
        try:
            return super()._create_authorization_code(request, code, expires)
        finally:
            request.claims = asked or None

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> Any:
        id_claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        auth_time = getattr(request, "vestibule_auth_time", None)
        if auth_time:
            id_claims["auth_time"] = auth_time
        # How the member proved who they are (RFC 8176) and the level it reached, from the
        # methods kept with the code: in the id_token only (Core §2), which tells that sign-in.
        methods = getattr(request, "vestibule_amr", None)
        id_claims["amr"] = claims.amr_of(methods)
        id_claims["acr"] = claims.acr_of(methods)
        return id_claims, expiration_time

    def refresh_id_token(self, request: Any) -> bool:
        """No new id_token on refresh (OpenID Connect Core §12.2 allows it): its auth_time
        would have to be the original sign-in's, which a refresh token does not carry."""
        return False

    # --- an authorization code is used once; a second use revokes what the first got ---

    def _load_access_token(self, token: str) -> AccessToken | None:
        """DOT's, with the member's subject joined (userinfo's `sub`)."""
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            AccessToken.objects.select_related("application", "user__oidc_subject")
            .filter(token_checksum=checksum)
            .first()
        )

    # --- the token request reads the code's Grant once (DOT reads it up to seven times) ---

    @staticmethod
    def _grant(code: str, request: Any) -> Grant | None:
        """The Grant of `code`, read once per token request and kept on oauthlib's request.
        The code's single use does not rest on this copy: invalidate_authorization_code
        marks it with a conditional UPDATE, which a concurrent use of the code loses."""
        cached = getattr(request, "vestibule_grant", None)
        if cached is not None and cached.code == code:
            return cached
        grant = Grant.objects.select_related("user__oidc_subject").filter(code=code).first()
        request.vestibule_grant = grant
        return grant

    def _client_grant(self, code: str, request: Any, client: Any = None) -> Grant:
        """As DOT's Grant.objects.get(code=code, application=client)."""
        grant = self._grant(code, request)
        client = client or request.client
        if grant is None or client is None or grant.application_id != client.pk:
            raise Grant.DoesNotExist
        return grant

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return grant.scope.split() if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return (grant.nonce or None) if grant is not None else None

    def get_code_challenge(self, code: str, request: Any) -> str | None:
        return self._client_grant(code, request).code_challenge or None

    def get_code_challenge_method(self, code: str, request: Any) -> str | None:
        return self._client_grant(code, request).code_challenge_method or None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, request, *args, **kwargs):
        try:
            grant = self._client_grant(code, request, client)
        except Grant.DoesNotExist:
            return False
        return grant.redirect_uri_allowed(redirect_uri)

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args, **kwargs):
        try:
            grant = self._client_grant(code, request, client)
        except Grant.DoesNotExist:
            return False
        stored = json.loads(grant.claims or "{}")
        if USED_BY in stored:
            # RFC 6749 §4.1.2: deny, and revoke the tokens issued from this code.
            self._revoke_family(stored[USED_BY])
            event_record(
                "oidc.code_reused", account=grant.user, client=client.client_id, revoked=True
            )
            return False
        # DOT's validate_code, on the Grant already read.
        if grant.is_expired():
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        request.claims = stored or None
        loaded = request.claims if isinstance(request.claims, dict) else {}
        request.vestibule_auth_time = loaded.pop(AUTH_TIME, None) or None
        request.vestibule_amr = loaded.pop(AMR, None)
        request.claims = loaded or None
        return True

    def _create_access_token(self, expires, request, token, source_refresh_token=None):
        """DOT's, given the IDToken row finalize_id_token has just written for this very
        response (DOT verifies the id_token it just signed and reads the row back)."""
        id_token = getattr(request, "id_token", None)
        if not token.get("id_token") or not isinstance(id_token, IDToken):
            return super()._create_access_token(expires, request, token, source_refresh_token)
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            source_refresh_token=source_refresh_token,
            resource=getattr(request, "resource", []),  # RFC 8707
        )
        self._set_token_value(access_token, token["access_token"])
        access_token.save()
        return access_token

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous):
        refresh_token = super()._create_refresh_token(
            request, refresh_token_code, access_token, previous
        )
        if request.grant_type == "authorization_code":
            # The family the code is marked with (invalidate_authorization_code), so that a
            # second use of the code revokes these tokens.
            family = refresh_token.token_family
            request.vestibule_token_family = str(family) if family else None
        return refresh_token

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """The code is kept, marked used with the token family it gave (DOT deletes it, so a
        second use could not be told from an unknown code). The mark is a conditional UPDATE:
        of two requests racing with one code, one marks it, the other loses its tokens."""
        family = getattr(request, "vestibule_token_family", None)
        # The claims as validate_code read them: the UPDATE below only marks a Grant nobody
        # marked since, so a copy read earlier in this request is enough.
        try:
            grant = self._client_grant(code, request)
        except Grant.DoesNotExist:
            grant = None
        stored = json.loads(grant.claims or "{}") if grant else {}
        marked = (
            Grant.objects.filter(code=code, application=request.client)
            .exclude(claims__contains=USED_BY)
            .update(
                claims=json.dumps({**stored, USED_BY: family}),
                # Expired as well: anything reading the Grant alone refuses it, and DOT's
                # cleartokens deletes it in time.
                expires=timezone.now() - timedelta(seconds=1),
            )
        )
        if not marked:
            winner = Grant.objects.filter(code=code, application=request.client).first()
            self._revoke_family(json.loads(winner.claims or "{}").get(USED_BY) if winner else None)
            self._revoke_family(family)
            event_record("oidc.code_reused", account=request.user, client=client_id, revoked=True)
            raise errors.InvalidGrantError(request=request)

    @staticmethod
    def _revoke_family(family: str | None) -> None:
        if family:
            RefreshToken.revoke_family(family)
