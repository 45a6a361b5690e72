"""A page for when the database or the cache is away: 503, in the visitor's language.

An outage reaches the visitor as an exception from wherever the database or Redis was
first needed (the address-block check, the session, the view). Django turns any of them
into its 500 handler, which hands outages here. Nothing is let through meanwhile: the
sign-in reserves its attempt on the cache before it hashes a password, so when the cache
cannot count, the exception stops the attempt before the hash. Nothing needs restarting
afterwards: Django reopens database connections that failed, redis-py its own.
"""

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from vestibule.config import get_profile

RETRY_AFTER_SECONDS = 30
OUTAGES = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


def is_outage(error: BaseException | None) -> bool:
    """Whether `error` (or an error it was raised from) is the database or cache being away."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, OUTAGES):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def _language(request: HttpRequest) -> str:
    """The visitor's language without the account's (reading it would need the database)."""
    languages = get_profile().languages
    for chosen in (
        getattr(request, "LANGUAGE_CODE", ""),
        request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, ""),
    ):
        if chosen in languages:
            return chosen
    return languages[0]


def unavailable_page(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After, in the site's layout, rendered from the profile alone.

    No request context: its processors read the session and the account, which live in
    the very services that are away.
    """
    language = _language(request)
    profile = get_profile()
    context = {
        "LANGUAGE_CODE": language,
        "organisation": profile.organisation,
        "support": profile.organisation.support,
    }
    with translation.override(language):
        body = render_to_string("web/unavailable.html", context)
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Content-Language"] = language
    response["Cache-Control"] = "no-store"
    return response
