"""An example members' section: a separate web app that signs its visitors in through Vestibule.

    ISSUER=http://127.0.0.1:8000/o CLIENT_ID=… CLIENT_SECRET=… PORT=8001 NAME="Espace membres" \
        .venv/bin/python examples/members_section/app.py

One file of Django (no project, no database) and Authlib's Django client, a well-known
OpenID Connect relying-party library: the authorization code flow with PKCE (S256), `state`
and `nonce` checked by Authlib, the ID token's signature checked against Vestibule's JWKS;
the member's claims read from the userinfo endpoint; sign-out through Vestibule's
end_session_endpoint (RP-initiated logout), and a back-channel logout endpoint so that
signing out elsewhere ends the session here too. Sessions live in this process's memory.
"""

import os
import secrets
import sys
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings

ISSUER = os.environ.get("ISSUER", "http://127.0.0.1:8000/o").rstrip("/")
CLIENT_ID = os.environ.get("CLIENT_ID", "")
CLIENT_SECRET = os.environ.get("CLIENT_SECRET", "")
PORT = int(os.environ.get("PORT", "8001"))
NAME = os.environ.get("NAME", "Espace membres")
BASE = f"http://127.0.0.1:{PORT}"
SCOPE = "openid profile email membership"
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"

settings.configure(
    DEBUG=False,
    SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(32),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    # Server-side sessions (in this process) so a back-channel logout can end one.
    SESSION_ENGINE="django.contrib.sessions.backends.cache",
    CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    # Cookies do not tell ports apart: each section (and Vestibule) needs its own names.
    SESSION_COOKIE_NAME=f"section_{PORT}_session",
    CSRF_COOKIE_NAME=f"section_{PORT}_csrftoken",
    SESSION_COOKIE_SAMESITE="Lax",
    USE_I18N=False,
)

import django  # noqa: E402  (after settings.configure, as a single-file Django app must)

django.setup()

from authlib.integrations.base_client import OAuthError  # noqa: E402
from authlib.integrations.django_client import OAuth  # noqa: E402
from django.contrib.sessions.backends.cache import SessionStore  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect  # noqa: E402
from django.middleware.csrf import get_token  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils.html import format_html, format_html_join  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

oauth = OAuth()
oauth.register(
    "vestibule",
    client_id=CLIENT_ID,
    client_secret=CLIENT_SECRET or None,
    server_metadata_url=f"{ISSUER}/.well-known/openid-configuration",
    client_kwargs={
        "scope": SCOPE,
        "code_challenge_method": "S256",
        # A public client (no secret) authenticates with its PKCE verifier alone.
        "token_endpoint_auth_method": "client_secret_basic" if CLIENT_SECRET else "none",
    },
)

WORDS = {
    "fr": {
        "sign_in": "Se connecter",
        "sign_out": "Se déconnecter",
        "welcome": "Réservé aux membres : connectez-vous avec votre compte de l'organisation.",
        "licence": "Numéro de membre",
        "kind": "Catégorie de membre",
        "establishments": "Établissements",
        "none": "aucun",
        "failed": "La connexion n'a pas abouti",
        "back": "Retour",
        "other": ("en", "English"),
    },
    "en": {
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "welcome": "Members only: sign in with your account at the organisation.",
        "licence": "Member number",
        "kind": "Member kind",
        "establishments": "Establishments",
        "none": "none",
        "failed": "Signing in did not succeed",
        "back": "Back",
        "other": ("fr", "Français"),
    },
}

# Which local sessions belong to which Vestibule subject and session (`sub`, `sid`): a
# back-channel logout names one of them.
_sessions_by_key: dict[str, set[str]] = {}
_sessions_lock = threading.Lock()


def _remember(session_key: str, *names: str) -> None:
    with _sessions_lock:
        for name in filter(None, names):
            _sessions_by_key.setdefault(name, set()).add(session_key)


def _forget(*names: str) -> int:
    with _sessions_lock:
        keys = set().union(*(_sessions_by_key.pop(name, set()) for name in filter(None, names)))
    for key in keys:
        SessionStore(session_key=key).delete()
    return len(keys)


def _words(request: HttpRequest) -> dict:
    return WORDS[request.session.get("lang", "fr")]


def _page(request: HttpRequest, body: str, status: int = 200) -> HttpResponse:
    words = _words(request)
    code, label = words["other"]
    html = format_html(
        '<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title></head>'
        '<body><header><h1>{}</h1><a href="/language/{}/">{}</a></header><main>{}</main>'
        "</body></html>",
        request.session.get("lang", "fr"),
        NAME,
        NAME,
        code,
        label,
        body,
    )
    response = HttpResponse(html, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    words = _words(request)
    member = request.session.get("member")
    if member is None:
        return _page(
            request,
            format_html(
                '<p>{}</p><p><a href="/login/">{}</a></p>', words["welcome"], words["sign_in"]
            ),
        )
    establishments = format_html_join(
        "",
        "<li>{} ({})</li>",
        ((e["name"], ", ".join(e.get("rights", []))) for e in member.get("establishments", [])),
    ) or format_html("<li>{}</li>", words["none"])
    return _page(
        request,
        format_html(
            '<p data-testid="member-name">{}</p><dl><dt>{}</dt><dd data-testid="licence">{}</dd>'
            '<dt>{}</dt><dd data-testid="member-kind">{}</dd></dl><h2>{}</h2><ul>{}</ul>'
            '<form method="post" action="/logout/"><input type="hidden" '
            'name="csrfmiddlewaretoken" value="{}"><button type="submit">{}</button></form>',
            member.get("name", ""),
            words["licence"],
            member.get("licence", ""),
            words["kind"],
            member.get("member_kind", ""),
            words["establishments"],
            establishments,
            get_token(request),
            words["sign_out"],
        ),
    )


@require_GET
def language(request: HttpRequest, code: str) -> HttpResponse:
    if code in WORDS:
        request.session["lang"] = code
    return HttpResponseRedirect("/")


@require_GET
def login(request: HttpRequest) -> HttpResponse:
    # Authlib draws state, nonce and the PKCE verifier, and keeps them in this session.
    return oauth.vestibule.authorize_redirect(request, f"{BASE}/callback")


@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    try:
        # Checks state, exchanges the code with the verifier, checks the ID token (signature
        # against the JWKS, issuer, audience, expiry, nonce).
        token = oauth.vestibule.authorize_access_token(request)
        member = oauth.vestibule.userinfo(token=token)
    except OAuthError as error:
        return _page(
            request,
            format_html(
                '<p role="alert">{} : {}</p><p><a href="/">{}</a></p>',
                _words(request)["failed"],
                error.description or error.error,
                _words(request)["back"],
            ),
            status=400,
        )
    request.session.cycle_key()  # a new session key once signed in
    request.session["member"] = dict(member)
    request.session["id_token"] = token["id_token"]
    request.session.save()
    _remember(request.session.session_key, token["userinfo"]["sub"], token["userinfo"].get("sid"))
    return HttpResponseRedirect("/")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    id_token = request.session.get("id_token")
    language = request.session.get("lang", "fr")
    request.session.flush()
    request.session["lang"] = language
    if not id_token:
        return HttpResponseRedirect("/")
    # Vestibule ends its own session too, then sends the browser back to this section's home.
    return oauth.vestibule.logout_redirect(
        request, post_logout_redirect_uri=f"{BASE}/", id_token_hint=id_token
    )


@csrf_exempt
@require_POST
def backchannel_logout(request: HttpRequest) -> HttpResponse:
    """OpenID Connect Back-Channel Logout 1.0: Vestibule says a member signed out."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    try:
        keys = KeySet.import_key_set(oauth.vestibule.fetch_jwk_set())
        logout_token = jwt.decode(request.POST.get("logout_token", ""), keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": oauth.vestibule.load_server_metadata()["issuer"]},
            aud={"essential": True, "value": CLIENT_ID},
            iat={"essential": True},
            jti={"essential": True},
        ).validate(logout_token.claims)
    except (JoseError, ValueError) as error:
        return HttpResponse(f"invalid logout token: {error}", status=400)
    claims = logout_token.claims
    if BACKCHANNEL_EVENT not in claims.get("events", {}) or "nonce" in claims:
        return HttpResponse("not a logout token", status=400)
    if not (claims.get("sub") or claims.get("sid")):
        return HttpResponse("a logout token names a sub or a sid", status=400)
    _forget(claims.get("sub", ""), claims.get("sid", ""))
    response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("", home),
    path("language/<str:code>/", language),
    path("login/", login),
    path("callback", callback),
    path("logout/", logout),
    path("backchannel-logout", backchannel_logout),
]


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"[{NAME}] {format % args}\n")


def main() -> None:
    if not CLIENT_ID:
        sys.exit("CLIENT_ID is required (see examples/members_section/README.md)")
    server = make_server("127.0.0.1", PORT, get_wsgi_application(), _Server, _Quiet)
    print(f"{NAME}: {BASE}/ (signs in through {ISSUER})", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
