"""The authorization endpoint, with the section's rule of who may enter, and its audit."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from oauth2_provider.views import AuthorizationView

from vestibule.audit.services import event_record
from vestibule.config import get_profile
from vestibule.oidc.claims import section_admits
from vestibule.oidc.models import Section


class AuthorizeView(AuthorizationView):
    """django-oauth-toolkit's view; a member the section does not let in gets a page naming
    the support contact, and no code is issued."""

    template_name = "oidc/authorize.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._refused(request, request.GET.get("client_id", "")) or super().get(
            request, *args, **kwargs
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._refused(request, request.POST.get("client_id", "")) or super().post(
            request, *args, **kwargs
        )

    def _refused(self, request: HttpRequest, client_id: str) -> HttpResponse | None:
        section = (
            Section.objects.select_related("application")
            .filter(application__client_id=client_id)
            .first()
        )
        if section is None or section_admits(section, request.user):
            return None
        event_record(
            "oidc.refused", request=request, account=request.user, client=client_id, reason="policy"
        )
        context = {"section": section, "organisation": get_profile().organisation}
        return render(request, "oidc/refused.html", context, status=403)

    def create_authorization_response(self, request, scopes, credentials, allow):
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
        oauth_error = getattr(error, "oauthlib_error", None)
        event_record(
            "oidc.request_refused",
            request=self.request,
            account=self.request.user if self.request.user.is_authenticated else None,
            client=getattr(application, "client_id", "")
            or self.request.GET.get("client_id", "")[:100],
            error=getattr(oauth_error, "error", str(error))[:100],
        )
        return super().error_response(error, application, **kwargs)
