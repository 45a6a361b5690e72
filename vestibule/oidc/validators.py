"""django-oauth-toolkit's validator, told Vestibule's claims, subjects and PKCE rule."""

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator

from vestibule.oidc import claims


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
        return ["sub", "amr", *claims.CLAIM_SCOPES]

    def is_pkce_required(self, client_id: str, request: Any) -> bool:
        """Required of public clients (they hold no secret); accepted from every client."""
        client = request.client or self._load_application(client_id, request)
        return client is None or client.client_type == client.CLIENT_PUBLIC
