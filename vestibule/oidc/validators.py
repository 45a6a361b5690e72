"""django-oauth-toolkit's validator, told Vestibule's claims, subjects, PKCE rule, the
member's real sign-in time, and what to do when an authorization code comes back twice."""

import hashlib
import json
import re
from datetime import timedelta
from typing import Any

from django.utils import timezone
from oauth2_provider.models import Grant, RefreshToken
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.oauth2.rfc6749 import errors

from vestibule.audit.services import event_record
from vestibule.oidc import claims

# Kept with the code in the Grant's `claims` JSON (DOT stores the request's `claims`
# parameter there and only this validator reads it back), so no table of our own is needed:
AUTH_TIME = "_vestibule_auth_time"  # when the member signed in, for the id_token
USED_BY = "_vestibule_used_by"  # the token family the code was exchanged for
# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters; the syntax allows 43 to 128.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


class VestibuleValidator(OAuth2Validator):
    oidc_claim_scope = {"sub": "openid", "amr": "openid", **claims.CLAIM_SCOPES}

    def get_claim_dict(self, request: Any) -> dict[str, Any]:
        account = request.user
        return {
            **claims.claims_of(account),
            "sub": claims.subject_of(account),
            # How the member proved who they are: a password (a second factor will add "mfa").
            "amr": ["pwd"],
        }

    def get_discovery_claims(self, request: Any) -> list[str]:
        return ["sub", "amr", "auth_time", *claims.CLAIM_SCOPES]

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
        request.claims = {**asked, AUTH_TIME: int(getattr(request, "auth_time", 0) or 0)}
        try:
            return super()._create_authorization_code(request, code, expires)
        finally:
            request.claims = asked or None

    def get_id_token_dictionary(self, token: Any, token_handler: Any, request: Any) -> Any:
        id_claims, expiration_time = super().get_id_token_dictionary(token, token_handler, request)
        auth_time = getattr(request, "vestibule_auth_time", None)
        if auth_time:
            id_claims["auth_time"] = auth_time
        return id_claims, expiration_time

    def refresh_id_token(self, request: Any) -> bool:
        """No new id_token on refresh (OpenID Connect Core §12.2 allows it): its auth_time
        would have to be the original sign-in's, which a refresh token does not carry."""
        return False

    # --- an authorization code is used once; a second use revokes what the first got ---

    def validate_code(self, client_id: str, code: str, client: Any, request: Any, *args, **kwargs):
        grant = Grant.objects.filter(code=code, application=client).first()
        if grant is None:
            return False
        stored = json.loads(grant.claims or "{}")
        if USED_BY in stored:
            # RFC 6749 §4.1.2: deny, and revoke the tokens issued from this code.
            self._revoke_family(stored[USED_BY])
            event_record(
                "oidc.code_reused", account=grant.user, client=client.client_id, revoked=True
            )
            return False
        if not super().validate_code(client_id, code, client, request, *args, **kwargs):
            return False
        loaded = request.claims if isinstance(request.claims, dict) else {}
        request.vestibule_auth_time = loaded.pop(AUTH_TIME, None) or None
        request.claims = loaded or None
        return True

    def save_bearer_token(self, token: dict, request: Any, *args: Any, **kwargs: Any) -> Any:
        saved = super().save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code" and token.get("refresh_token"):
            checksum = hashlib.sha256(token["refresh_token"].encode("utf-8")).hexdigest()
            family = (
                RefreshToken.objects.filter(token_checksum=checksum)
                .values_list("token_family", flat=True)
                .first()
            )
            request.vestibule_token_family = str(family) if family else None
        return saved

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Any, *args: Any, **kwargs: Any
    ) -> None:
        """The code is kept, marked used with the token family it gave (DOT deletes it, so a
        second use could not be told from an unknown code). The mark is a conditional UPDATE:
        of two requests racing with one code, one marks it, the other loses its tokens."""
        family = getattr(request, "vestibule_token_family", None)
        grant = Grant.objects.filter(code=code, application=request.client).first()
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
