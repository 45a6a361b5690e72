"""Let a page's form lead on to the section that is waiting for the member.

The portal's Content-Security-Policy says `form-action 'self'`, and browsers apply it to
every redirect that follows a form's submission: the sign-in form answered by a redirect to
/o/authorize/ and then on to the section's redirect URI was stopped by Chromium halfway
(net::ERR_ABORTED), so no member could sign in to a section from a browser. On a page shown
for a pending authorization request (the sign-in page with `next=/o/authorize/?…`, the
consent page), the origin of the request's redirect URI is added to `form-action` — only
when that URI is registered for that client, so an injected form still cannot post anywhere
else.
"""

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from oauth2_provider.models import get_application_model


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def pending_section_origin(request: HttpRequest) -> str:
    """The registered redirect URI's origin of the authorization request this page serves."""
    authorize = reverse("oidc-authorize")
    # The query only: a refused body (too large) is never parsed on the way out.
    if request.path == authorize:
        query = request.META.get("QUERY_STRING", "")
    else:
        target = urlsplit(request.GET.get("next", ""))
        if target.scheme or target.netloc or target.path != authorize:
            return ""
        query = target.query
    params = {name: values[0] for name, values in parse_qs(query).items()}
    client_id, redirect_uri = params.get("client_id", ""), params.get("redirect_uri", "")
    if not client_id or not redirect_uri:
        return ""
    application = get_application_model().objects.filter(client_id=client_id).first()
    if application is None or not application.redirect_uri_allowed(redirect_uri):
        return ""
    return _origin(redirect_uri)


class SectionFormActionMiddleware:
    """Below django-csp's middleware: it marks the response before the policy is written."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            origin = pending_section_origin(request)
            if origin:
                update = dict(getattr(response, "_csp_update", None) or {})
                update["form-action"] = [*update.get("form-action", []), origin]
                response._csp_update = update
        return response
