import functools
import re
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from vestibule.accounts.lockout import address_block_end, address_blocked_minutes
from vestibule.config import get_profile
from vestibule.throttle.addresses import from_trusted_proxy


def request_language(request: HttpRequest) -> str:
    """The visitor's choice (cookie), else the account's, else the profile's first language.

    Browsers' Accept-Language is not consulted: French is the default of every profile
    that lists it first, as the organisations we serve require.
    """
    languages = get_profile().languages
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if chosen in languages:
        return chosen
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.language in languages:
        return user.language
    return languages[0]


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        response.headers.setdefault("Vary", "Cookie")
        return response


class ForwardedProtoMiddleware:
    """X-Forwarded-Proto counts only from a trusted proxy. Django's SECURE_PROXY_SSL_HEADER
    believes it from anyone, so a client that reached a node's port directly could claim
    HTTPS (no redirect to it, CSRF's checks of a secure request): its header is dropped."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META and not from_trusted_proxy(request):
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages are personal or carry forms: no cache keeps them, the back button shows nothing."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response


API_PREFIX = "/api/"


class RequestSizeMiddleware:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE, or with too many fields, answers 413.

    Django refuses such a body only when something parses it, with a 400 (or, for a field
    under the limit, lets the form show an error after reading it all). Here the declared
    length is checked before a byte is read (a file attached to any form included), and the
    form is parsed under Django's limits before any view or CSRF check reads it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(API_PREFIX):
            # The management API caps each operation's body itself (api/v1.py body_capped:
            # 64 KiB, 5 MiB for a members batch), before reading it, and answers with a
            # problem document instead of this page.
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body then
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return _too_large_page(request)
        if request.method == "POST":
            try:
                request.POST  # noqa: B018  (parsed here, within the limits)
            except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent):
                return _too_large_page(request)
        return self.get_response(request)


def _too_large_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/too_large.html", status=413)


class BlockedAddressMiddleware:
    """Answers a blocked address's sign-in attempts before sessions, CSRF and the view run.

    A flood from a blocked address then costs a cache read and a small page each (429 with
    Retry-After): no session, no database query, no password hash. The sign-in view checks
    the block too, for requests that reach it by another path.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    @functools.cached_property
    def sign_in_path(self) -> str:
        return reverse("accounts:login")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "POST" and request.path_info == self.sign_in_path:
            minutes = address_blocked_minutes(request)
            if minutes:
                return _blocked_page(request, minutes)
        return self.get_response(request)


def _blocked_page(request: HttpRequest, minutes: int) -> HttpResponse:
    language = request_language(request)
    profile = get_profile()
    context = {
        "LANGUAGE_CODE": language,
        "profile": profile,
        "organisation": profile.organisation,
        "minutes": minutes,
        "retry_at": address_block_end(request),
        "other_languages": [code for code in profile.languages if code != language],
        "csrf_token": _csrf_token_of_cookie(request),
    }
    with translation.override(language):
        body = render_to_string("web/blocked.html", context)
    response = HttpResponse(body, status=429)
    response["Retry-After"] = str(minutes * 60)
    response["Content-Language"] = language
    return response


def _csrf_token_of_cookie(request: HttpRequest) -> str:
    """A form token for the visitor's CSRF cookie, for the blocked page's language switch.

    That page is answered before CSRF runs and sets no cookie; a browser that posted the
    sign-in form holds one already, so the token is derived from it. Without a cookie
    (a script), no token: the switch would be refused, and the script needs none.
    """
    secret = request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
    if not re.fullmatch(r"[a-zA-Z0-9]{32}", secret):
        return ""
    request.META["CSRF_COOKIE"] = secret
    return get_token(request)
