from typing import Any

from django.conf import settings
from django.http import HttpRequest

from vestibule.config import get_profile
from vestibule.establishments.current import current_membership
from vestibule.establishments.services import can_administer, memberships_of

CONSENT_COOKIE = "vestibule_cookie_notice"


def establishments(request: HttpRequest) -> dict[str, Any]:
    """The establishment the member acts for, and the others to switch to (header)."""
    if not get_profile().access_rights or not request.user.is_authenticated:
        return {}
    current = current_membership(request)
    return {
        "current_membership": current,
        "memberships": memberships_of(request.user) if current else [],
        "administers": can_administer(current),
    }


def portal(request: HttpRequest) -> dict[str, Any]:
    profile = get_profile()
    return {
        **establishments(request),
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
