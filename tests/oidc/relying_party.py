"""A members' section as the protocol sees it: a real RP library (Authlib) over HTTP against
a running Vestibule, and a member's browser (requests) that signs in on Vestibule's page."""

import re
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlparse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet
from oauth2_provider.models import Application

from vestibule.oidc.models import Section

REDIRECT_URI = "http://section.example/callback"
SCOPES = "openid profile email membership"


def section_register(
    *,
    name: str = "Espace membres",
    public: bool = False,
    redirect_uri: str = REDIRECT_URI,
    **section: object,
) -> tuple[Application, str]:
    """A section registered as the operator would; (its application, its clear secret)."""
    secret = "" if public else secrets.token_urlsafe(32)
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        post_logout_redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        client_secret=secret,
        skip_authorization=bool(section.get("first_party", True)),
    )
    Section.objects.create(application=application, **section)
    return application, secret


@dataclass
class Browser:
    """A member's browser: cookies, and the sign-in form filled in when Vestibule asks."""

    base: str
    session: requests.Session = field(default_factory=requests.Session)

    def sign_in(self, identifier: str, password: str, next_path: str = "/") -> requests.Response:
        page = self.session.get(urljoin(self.base, f"/login/?next={next_path}"))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return self.session.post(
            urljoin(self.base, "/login/"),
            data={
                "identifier": identifier,
                "password": password,
                "next": next_path,
                "csrfmiddlewaretoken": token,
            },
            headers={"Referer": urljoin(self.base, "/login/")},
            allow_redirects=False,
        )

    def follow_to_callback(self, url: str) -> requests.Response:
        """Follow Vestibule's redirects until one leaves for the section (not followed)."""
        response = self.session.get(url, allow_redirects=False)
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            if not location.startswith(self.base):
                return response
            response = self.session.get(location, allow_redirects=False)
        return response


@dataclass
class RelyingParty:
    base: str
    client_id: str
    client_secret: str = ""
    redirect_uri: str = REDIRECT_URI
    scope: str = SCOPES

    def __post_init__(self) -> None:
        self.metadata = requests.get(f"{self.base}/o/.well-known/openid-configuration").json()
        self.oauth = OAuth2Session(
            self.client_id,
            self.client_secret or None,
            scope=self.scope,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
        )
        self.verifier = generate_token(48)
        self.nonce = generate_token(20)

    def authorization_url(self, **extra: str) -> str:
        url, self.state = self.oauth.create_authorization_url(
            self.metadata["authorization_endpoint"],
            code_verifier=self.verifier,
            nonce=self.nonce,
            **extra,
        )
        return url

    def callback_of(self, response: requests.Response) -> str:
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri), location
        return location

    def token(self, callback: str) -> dict:
        return self.oauth.fetch_token(
            self.metadata["token_endpoint"],
            authorization_response=callback,
            code_verifier=self.verifier,
        )

    def id_claims(self, token: dict, **expected: object) -> dict:
        """The id_token's claims, its RS256 signature checked against the published JWKS,
        and iss, aud, nonce (and exp, iat) validated, as a relying party must."""
        keys = KeySet.import_key_set(requests.get(self.metadata["jwks_uri"]).json())
        decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.metadata["issuer"]},
            aud={"essential": True, "value": self.client_id},
            nonce={"essential": True, "value": self.nonce},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            auth_time={"essential": True},
            **{name: {"essential": True, "value": value} for name, value in expected.items()},
        ).validate(decoded.claims)
        return dict(decoded.claims)

    def sign_in_through(
        self, browser: "Browser", identifier: str, password: str, **extra: str
    ) -> str:
        """The whole front channel: authorize, Vestibule's sign-in page if needed, back to
        the section; returns the callback URL (checked to carry our state back)."""
        url = self.authorization_url(**extra)
        first = browser.session.get(url, allow_redirects=False)
        assert first.is_redirect, first.text[:500]
        location = urljoin(first.url, first.headers["Location"])
        if urlparse(location).path == "/login/":
            next_path = query_of(location)["next"]
            assert browser.sign_in(identifier, password, next_path=next_path).status_code == 302
            response = browser.follow_to_callback(urljoin(self.base, next_path))
        else:
            response = (
                first
                if not location.startswith(self.base)
                else browser.follow_to_callback(location)
            )
        callback = self.callback_of(response)
        assert query_of(callback).get("state") == self.state
        return callback

    def refresh(self, refresh_token: str) -> requests.Response:
        return requests.post(
            self.metadata["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(self.client_id, self.client_secret) if self.client_secret else None,
        )

    def introspect(self, token: str, auth: tuple[str, str] | None = None) -> requests.Response:
        return requests.post(
            self.metadata["introspection_endpoint"],
            data={"token": token},
            auth=auth if auth is not None else (self.client_id, self.client_secret),
        )

    def revoke(self, token: str, hint: str = "") -> requests.Response:
        data = {"token": token, **({"token_type_hint": hint} if hint else {})}
        if not self.client_secret:
            data["client_id"] = self.client_id
        return requests.post(
            self.metadata["revocation_endpoint"],
            data=data,
            auth=(self.client_id, self.client_secret) if self.client_secret else None,
        )

    def userinfo_with(self, access_token: str) -> requests.Response:
        return requests.get(
            self.metadata["userinfo_endpoint"],
            headers={"Authorization": f"Bearer {access_token}"},
        )

    def userinfo(self) -> dict:
        return self.oauth.get(self.metadata["userinfo_endpoint"]).json()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
