"""Idle and absolute session time-outs from the profile."""

import time
from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from vestibule.accounts.session_records import session_record_rekey, session_record_touch
from vestibule.config import get_profile

SIGNED_IN_AT = "vestibule_signed_in_at"
SEEN_AT = "vestibule_seen_at"
# Refresh the idle clock at most once a minute: a session write per page view costs more.
SEEN_RESOLUTION = 60


def session_start(request: HttpRequest) -> None:
    """Start both clocks; called right after sign-in. The cookie and the stored session
    last as long as the profile's absolute time-out, whatever SESSION_COOKIE_AGE says."""
    now = int(time.time())
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    request.session.set_expiry(get_profile().sessions.absolute_hours * 3600)


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session_key = None
        if request.user.is_authenticated:
            session_key = request.session.session_key
            sessions = get_profile().sessions
            now = int(time.time())
            signed_in_at = request.session.get(SIGNED_IN_AT, now)
            seen_at = request.session.get(SEEN_AT, now)
            if (
                now - seen_at > sessions.idle_minutes * 60
                or now - signed_in_at > sessions.absolute_hours * 3600
            ):
                logout(request)
                request.session["vestibule_timed_out"] = True
            elif now - seen_at >= SEEN_RESOLUTION or SEEN_AT not in request.session:
                request.session[SEEN_AT] = now
                request.session.setdefault(SIGNED_IN_AT, now)
                session_record_touch(request=request)
        response = self.get_response(request)
        if session_key and request.session.session_key != session_key:
            # Kept under a new key (a password change): « Sessions actives » follows it.
            session_record_rekey(request=request, old_key=session_key)
        return response
