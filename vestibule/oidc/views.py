"""The protocol's endpoints as Vestibule answers them: django-oauth-toolkit's views, with the
sections' rules, OpenID Connect's exact error handling, sign-in freshness (prompt=login,
max_age), introspection limited to a confidential client's own tokens, and the audit."""

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlparse

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import View
from oauth2_provider.compat import login_not_required
from oauth2_provider.exceptions import FatalClientError, OAuthToolkitError
from oauth2_provider.models import AccessToken, RefreshToken
from oauth2_provider.oauth2_backends import _add_iss_to_redirect
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.signals import app_authorized
from oauth2_provider.views import AuthorizationView, RevokeTokenView, TokenView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.oauth2.rfc6749 import errors as oauth2_errors
from oauthlib.openid.connect.core.exceptions import (
    InteractionRequired,
    LoginRequired,
    RegistrationNotSupported,
    RequestNotSupported,
    RequestURINotSupported,
)

from vestibule.accounts.middleware import SIGNED_IN_AT
from vestibule.accounts.sessions import session_methods, sign_in_hand_off
from vestibule.audit.services import event_record, event_record_coalesced
from vestibule.config import get_profile
from vestibule.oidc.claims import (
    ACR_VALUES,
    acr_asked,
    section_admits,
    section_needs_second_factor,
    subject_of,
)
from vestibule.oidc.models import Section
from vestibule.oidc.validators import CODE_CHALLENGE, application_of, applications_read_once
from vestibule.throttle.addresses import client_ip

# Longer than any honest RP's state (a random value, or a short signed blob), short enough
# that the redirect carrying it back fits every browser and proxy.
STATE_MAX_LENGTH = 2048
# The Grant stores the nonce in 255 characters; a longer one must be refused, not truncated
# (and not a database error on PostgreSQL).
NONCE_MAX_LENGTH = 255
# Set when prompt=login or max_age asks for a fresh sign-in: the time of that request, which
# the session's sign-in time must pass before a code is issued.
REAUTH_SINCE = "vestibule_oidc_reauth_since"
SILENT_LOGIN = "VESTIBULE_OIDC_SILENT_LOGIN"
SILENT_CONSENT = "VESTIBULE_OIDC_SILENT_CONSENT"

# What the member reads when the request cannot be answered and must not be sent back, by
# oauthlib's error class (they all say "invalid_request"): (kind shown to tests, reason).
ERROR_REASONS = {
    "InvalidClientIdError": ("unknown_client", _("This site is not registered with Vestibule.")),
    "MissingClientIdError": ("missing_client", _("This site did not say who it is.")),
    "InvalidRedirectURIError": (
        "redirect_uri_mismatch",
        _("The return address this site gave is not one registered for it."),
    ),
    "MismatchingRedirectURIError": (
        "redirect_uri_mismatch",
        _("The return address this site gave is not one registered for it."),
    ),
    "MissingRedirectURIError": (
        "missing_redirect_uri",
        _("This site did not say where to send you back."),
    ),
}


def _refusal_record(kind: str, request: HttpRequest, **fields: Any) -> None:
    """Audit a refused protocol request: the first of each minute per address and reason.

    Anyone can send malformed requests by the thousand; one database row each would make
    the audit log the target.
    """
    origin = ":".join([client_ip(request), *(str(value) for value in fields.values())])
    key = hashlib.sha256(origin.encode()).hexdigest()
    event_record_coalesced(kind, key=key, request=request, **fields)


def _client_id_of(request: HttpRequest) -> str:
    """The client named by HTTP Basic credentials or the form body (for the audit only)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            return unquote(decoded.split(":", 1)[0])[:100]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return request.POST.get("client_id", "")[:100]


class AuthorizeView(AuthorizationView):
    """django-oauth-toolkit's authorization endpoint. A malformed request is answered before
    the member is asked to sign in; a member the section does not let in gets a page naming
    the support contact, and no code is issued."""

    template_name = "oidc/authorize.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # What oauthlib asks the validator for prompt=none (validate_silent_login and
        # validate_silent_authorization, which DOT leaves unimplemented: a 500), told through
        # the WSGI environment: keys without an HTTP_ prefix no client header can set.
        request.META.pop(SILENT_LOGIN, None)
        request.META.pop(SILENT_CONSENT, None)
        if request.user.is_authenticated:
            request.META[SILENT_LOGIN] = "1"
        with applications_read_once():
            if request.user.is_authenticated and self._consented(request):
                request.META[SILENT_CONSENT] = "1"
            return super().dispatch(request, *args, **kwargs)

    @staticmethod
    def _consented(request: HttpRequest) -> bool:
        """A first-party section, or one the member already let have these scopes."""
        application = application_of(request.GET.get("client_id", ""))
        if application is None:
            return False
        if application.skip_authorization:
            return True
        scopes = request.GET.get("scope", "").split()
        return any(
            token.allow_scopes(scopes)
            for token in AccessToken.objects.filter(
                user=request.user, application=application, expires__gt=timezone.now()
            )
        )

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = self._refused(request, request.GET.get("client_id", ""))
        if refused:
            return refused
        fresh = self._fresh_sign_in_required(request)
        if fresh:
            return fresh
        step_up = self._second_factor_required(request)
        if step_up:
            return step_up
        return super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client_id = request.POST.get("client_id", "")
        refused = self._refused(request, client_id)
        if refused:
            return refused
        if request.user.is_authenticated and section_needs_second_factor(
            self._section_of(client_id), session_methods(request)
        ):
            # The consent form posted without the factor the GET asked for: no code. (An
            # acr_values request is not re-checked here: the form does not carry it, and the
            # id_token's acr tells the section the level reached, as Core §3.1.2.1 has it.)
            raise PermissionDenied
        return super().post(request, *args, **kwargs)

    @staticmethod
    def _section_of(client_id: str) -> Section | None:
        application = application_of(client_id)
        try:
            return application.section if application is not None else None
        except Section.DoesNotExist:
            return None

    def _second_factor_required(self, request: HttpRequest) -> HttpResponse | None:
        """A section requiring a second factor, or a request with acr_values (or the claims
        parameter) asking for multi-factor, and a session signed in without one: the member
        gives it (or enrols one) in the sign-in flow, then comes back to this request."""
        if not request.user.is_authenticated:
            return None
        methods = session_methods(request)
        acr = acr_asked(request.GET.get("acr_values", ""), request.GET.get("claims", ""))
        if not section_needs_second_factor(
            self._section_of(request.GET.get("client_id", "")), methods, acr
        ):
            return None
        try:
            self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        if "none" in request.GET.get("prompt", "").split():
            error = OAuthToolkitError(
                error=InteractionRequired(state=request.GET.get("state")),
                redirect_uri=request.GET["redirect_uri"],
            )
            return self.error_response(error, application=None)
        sign_in_hand_off(
            request, request.user, next_url=request.get_full_path(), methods=methods, step_up=True
        )
        return HttpResponseRedirect(reverse("flows:flow", args=["sign_in"]))

    def handle_no_permission(self) -> HttpResponse:
        # Not signed in: a request that can only fail fails now, at the section's redirect
        # URI when it is valid, rather than after the member typed their password.
        try:
            self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        return super().handle_no_permission()

    def validate_authorization_request(self, request: HttpRequest) -> tuple[Any, dict]:
        """oauthlib's checks, then Vestibule's: OpenID Connect only, a redirect URI always
        given, bounded state and nonce, S256 challenges only, a numeric max_age."""
        scopes, credentials = super().validate_authorization_request(request)
        params = request.GET
        if not params.get("redirect_uri"):
            # OpenID Connect Core §3.1.2.1: REQUIRED, even with a single registered URI.
            raise FatalClientError(error=oauth2_errors.MissingRedirectURIError())
        problem = None
        if "openid" not in scopes:
            problem = oauth2_errors.InvalidScopeError(
                description="The openid scope is required (OpenID Connect only).",
                state=credentials.get("state"),
            )
        elif "request" in params:
            # OpenID Connect Core §6: request objects are not supported, and say so.
            problem = RequestNotSupported(state=credentials.get("state"))
        elif "request_uri" in params:
            problem = RequestURINotSupported(state=credentials.get("state"))
        elif "registration" in params:
            problem = RegistrationNotSupported(state=credentials.get("state"))
        elif len(params.get("state", "")) > STATE_MAX_LENGTH:
            # Not echoed back: that is the very size refused.
            problem = oauth2_errors.InvalidRequestError(
                description=f"state is longer than {STATE_MAX_LENGTH} characters."
            )
        elif len(params.get("nonce", "")) > NONCE_MAX_LENGTH:
            problem = oauth2_errors.InvalidRequestError(
                description=f"nonce is longer than {NONCE_MAX_LENGTH} characters.",
                state=credentials.get("state"),
            )
        elif params.get("code_challenge") and (
            params.get("code_challenge_method") != "S256"
            or not CODE_CHALLENGE.fullmatch(params["code_challenge"])
        ):
            problem = oauth2_errors.InvalidRequestError(
                description="code_challenge must be S256 (RFC 7636, 43 to 128 characters).",
                state=credentials.get("state"),
            )
        elif params.get("max_age") and not params["max_age"].isdigit():
            problem = oauth2_errors.InvalidRequestError(
                description="max_age must be a number of seconds.",
                state=credentials.get("state"),
            )
        if problem is not None:
            raise OAuthToolkitError(error=problem, redirect_uri=credentials["redirect_uri"])
        return scopes, credentials

    def _fresh_sign_in_required(self, request: HttpRequest) -> HttpResponse | None:
        """prompt=login, or a sign-in older than max_age: the member signs in again before
        a code is issued (OpenID Connect Core §3.1.2.1). The request is checked first."""
        if not request.user.is_authenticated:
            return None
        signed_in_at = request.session.get(SIGNED_IN_AT, 0)
        since = request.session.get(REAUTH_SINCE)
        if since is not None and signed_in_at >= since:
            # This session signed in after the freshness was asked: satisfied.
            del request.session[REAUTH_SINCE]
            return None
        prompt = request.GET.get("prompt", "").split()
        max_age = request.GET.get("max_age", "")
        stale = max_age.isdigit() and time.time() - signed_in_at > int(max_age)
        if since is None and "login" not in prompt and not stale:
            return None
        try:
            self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        if "none" in prompt:
            # The section asked for no page: it is told a sign-in is needed.
            state = request.GET.get("state")
            raise_to = OAuthToolkitError(
                error=LoginRequired(state=state), redirect_uri=request.GET["redirect_uri"]
            )
            return self.error_response(raise_to, application=None)
        if since is None:
            request.session[REAUTH_SINCE] = int(time.time())
        # Back to this request without prompt=login, so signing in ends the loop.
        parsed = urlparse(request.get_full_path())
        query = [(k, v) for k, v in parse_qsl(parsed.query) if k != "prompt"]
        others = [p for p in prompt if p != "login"]
        if others:
            query.append(("prompt", " ".join(others)))
        return redirect_to_login(parsed._replace(query=urlencode(query)).geturl())

    def _refused(self, request: HttpRequest, client_id: str) -> HttpResponse | None:
        if not request.user.is_authenticated:
            return None
        application = application_of(client_id)
        try:
            section = application.section if application is not None else None
        except Section.DoesNotExist:
            section = None
        if section is None or section_admits(section, request.user):
            return None
        event_record(
            "oidc.refused", request=request, account=request.user, client=client_id, reason="policy"
        )
        context = {"section": section, "organisation": get_profile().organisation}
        return render(request, "oidc/refused.html", context, status=403)

    def create_authorization_response(self, request, scopes, credentials, allow):
        # The id_token's auth_time: when this session's member signed in (the validator
        # stores it with the code). Django's last_login is off (accounts/apps.py) and would
        # be the account's latest sign-in on any device, not this one's.
        credentials["auth_time"] = request.session.get(SIGNED_IN_AT) or int(time.time())
        # The id_token's amr (validators.py keeps it with the code, as auth_time).
        credentials["amr"] = session_methods(request)
        uri, headers, body, status = super().create_authorization_response(
            request, scopes, credentials, allow
        )
        event_record(
            "oidc.authorized" if allow else "oidc.consent_refused",
            request=request,
            account=request.user,
            client=credentials.get("client_id", ""),
            scopes=scopes,
        )
        return uri, headers, body, status

    def error_response(self, error: Any, application: Any, **kwargs: Any) -> HttpResponse:
        """Sent back to the section (error, error_description, state, iss) when its redirect
        URI is valid; otherwise a page in the member's language, never a redirect."""
        oauth_error = error.oauthlib_error
        _refusal_record(
            "oidc.request_refused",
            self.request,
            account=self.request.user if self.request.user.is_authenticated else None,
            client=getattr(application, "client_id", "")
            or self.request.GET.get("client_id", "")[:100],
            error=str(getattr(oauth_error, "error", error))[:100],
        )
        redirect, response = OAuthLibMixin.error_response(self, error, **kwargs)
        if redirect and oauth_error.redirect_uri:
            issuer = oauth2_settings.oauth2_authorization_server_issuer(self.request)
            return self.redirect(_add_iss_to_redirect(response["url"], issuer), application)
        response["kind"], response["reason"] = ERROR_REASONS.get(
            type(oauth_error).__name__, ("other", None)
        )
        return self.render_to_response(response, status=oauth_error.status_code)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class TokenEndpoint(TokenView):
    """DOT's token endpoint; every refusal is audited (tokens issued: receivers.py)."""

    @method_decorator(sensitive_post_parameters("password", "client_secret"))
    def authorization_flow_token_response(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """DOT's, reading the issued token back with its account and section in one query
        (the app_authorized receiver audits both; DOT's lazy reads made it three)."""
        _url, headers, body, status = self.create_token_response(request)
        if status == 200:
            access_token = json.loads(body).get("access_token")
            if access_token is not None:
                checksum = hashlib.sha256(access_token.encode("utf-8")).hexdigest()
                token = (
                    AccessToken.objects.select_related("user", "application")
                    .filter(token_checksum=checksum)
                    .first()
                )
                if token is None:
                    # A replay of the same code, racing this request, revoked what it
                    # issued: the section gets the refusal a replay gets, not a dead token.
                    body = json.dumps({"error": "invalid_grant"})
                    status = 400
                else:
                    app_authorized.send(sender=self, request=request, token=token)
        response = HttpResponse(content=body, status=status)
        for key, value in headers.items():
            response[key] = value
        return response

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            try:
                error = json.loads(response.content).get("error", "")
            except ValueError:
                error = ""
            _refusal_record(
                "oidc.token_refused",
                request,
                client=_client_id_of(request),
                grant_type=request.POST.get("grant_type", "")[:50],
                error=str(error)[:100],
            )
        return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class RevokeEndpoint(RevokeTokenView):
    """RFC 7009, as DOT does it (a client revokes only its own tokens), audited."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        event_record(
            "oidc.token_revoked" if response.status_code == 200 else "oidc.revocation_refused",
            request=request,
            client=_client_id_of(request),
            status=response.status_code,
        )
        return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(login_not_required, name="dispatch")
class IntrospectEndpoint(OAuthLibMixin, View):
    """RFC 7662 for confidential clients, with their own credentials, about their own tokens.

    DOT's view accepts any authenticated client (a public one "authenticates" with its
    client_id alone) or a bearer token holding an `introspection` scope, and tells any token
    to anyone, with the account's username; here a client learns only whether a token IT
    was issued is active, and the member's `sub`."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        client = self._confidential_client(request)
        if client is None:
            _refusal_record("oidc.introspection_refused", request, client=_client_id_of(request))
            response = JsonResponse({"error": "invalid_client"}, status=401)
            response["WWW-Authenticate"] = 'Basic realm="introspection"'
            return response
        value = request.POST.get("token")
        if not value:
            return JsonResponse({"error": "invalid_request"}, status=400)
        return JsonResponse(self._describe(value, client, request))

    def _confidential_client(self, request: HttpRequest) -> Any:
        from oauthlib.common import Request as OauthlibRequest

        core = self.get_oauthlib_core()
        uri, http_method, body, headers = core._extract_params(request)
        oauth_request = OauthlibRequest(uri, http_method, body, headers)
        validator = core.server.request_validator
        if not validator.authenticate_client(oauth_request):
            return None
        client = oauth_request.client
        return client if client.client_type == client.CLIENT_CONFIDENTIAL else None

    def _describe(self, value: str, client: Any, request: HttpRequest) -> dict[str, Any]:
        checksum = hashlib.sha256(value.encode("utf-8")).hexdigest()
        access = (
            AccessToken.objects.select_related("user")
            .filter(token_checksum=checksum, application=client)
            .first()
        )
        if access is not None and access.is_valid():
            data: dict[str, Any] = {
                "active": True,
                "token_type": "Bearer",
                "exp": int(access.expires.timestamp()),
                "iat": int(access.created.timestamp()),
                "scope": access.scope,
            }
            user = access.user
        else:
            refresh = (
                RefreshToken.objects.select_related("user", "access_token")
                .filter(token_checksum=checksum, application=client, revoked__isnull=True)
                .first()
            )
            if refresh is None or refresh.access_token is None:
                return {"active": False}
            data = {"active": True, "iat": int(refresh.created.timestamp())}
            data["scope"] = refresh.access_token.scope
            user = refresh.user
        data["client_id"] = client.client_id
        data["iss"] = oauth2_settings.oidc_issuer(request)
        if user is not None:
            data["sub"] = subject_of(user)
        return data


def _endpoint(request: HttpRequest, name: str) -> str:
    """An absolute URL on the issuer's host when one is configured (as DOT builds its own)."""
    path = reverse(name)
    issuer = oauth2_settings.OIDC_ISS_ENDPOINT
    if not issuer:
        return request.build_absolute_uri(path)
    parsed = urlparse(issuer)
    return f"{parsed.scheme}://{parsed.netloc}{path}"


def with_protocol_metadata(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The discovery document, plus what DOT leaves out: introspection and revocation
    endpoints with how clients authenticate there (RFC 8414 §2), and the acr values."""

    def discovery(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        data = json.loads(response.content)
        data["introspection_endpoint"] = _endpoint(request, "oauth2_provider:introspect")
        data["introspection_endpoint_auth_methods_supported"] = [
            "client_secret_basic",
            "client_secret_post",
        ]
        # The levels a section may ask for in acr_values and read in the id_token's acr.
        data["acr_values_supported"] = list(ACR_VALUES)
        data["revocation_endpoint"] = _endpoint(request, "oauth2_provider:revoke-token")
        data["revocation_endpoint_auth_methods_supported"] = [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ]
        augmented = JsonResponse(data)
        augmented["Access-Control-Allow-Origin"] = "*"
        return augmented

    return discovery
