from typing import Any

from django.conf import settings
from django.http import HttpRequest

from vestibule.config import get_profile

CONSENT_COOKIE = "vestibule_cookie_notice"


def portal(request: HttpRequest) -> dict[str, Any]:
    profile = get_profile()
    return {
        "profile": profile,
        "organisation": profile.organisation,
        "support": profile.organisation.support,
        "other_languages": [code for code in profile.languages if code != request.LANGUAGE_CODE]
        if hasattr(request, "LANGUAGE_CODE")
        else [],
        "show_cookie_notice": CONSENT_COOKIE not in request.COOKIES,
        "development": not settings.PRODUCTION,
        "can_register": "registration" in profile.flows,
    }
