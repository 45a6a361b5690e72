import sys

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from vestibule.accounts.redirects import safe_next
from vestibule.config import get_profile
from vestibule.notifications import dev_mail
from vestibule.oidc.claims import section_admits
from vestibule.oidc.services import sections_list
from vestibule.web.context_processors import CONSENT_COOKIE
from vestibule.web.outage import is_outage, unavailable_page


def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect("/portal/")
    return render(request, "web/landing.html")


@login_required
def portal_home(request: HttpRequest) -> HttpResponse:
    account = request.user
    kind = get_profile().kind(account.kind)
    # Only the doors this member may open: the same rule the authorization endpoint applies.
    sections = [s for s in sections_list() if s.home_url and section_admits(s, account)]
    return render(
        request,
        "web/portal_home.html",
        {
            "account": account,
            "kind": kind,
            "member_sections": sections,
            "account_url": reverse("accounts:account"),
            "help_url": reverse("web:help"),
        },
    )


def help_page(request: HttpRequest) -> HttpResponse:
    return render(request, "web/help.html")


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "web/privacy.html")


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie, safe `next`), plus the choice kept on the account."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in get_profile().languages:
        request.user.language = language
        request.user.save(update_fields=["language"])
    return response


@require_POST
def cookie_notice_accept(request: HttpRequest) -> HttpResponse:
    response = HttpResponseRedirect(safe_next(request))
    response.set_cookie(
        CONSENT_COOKIE,
        "accepted",
        max_age=365 * 24 * 3600,
        secure=settings.PRODUCTION,
        httponly=True,
        samesite="Lax",
    )
    return response


def _development_only(request: HttpRequest) -> None:
    """Development, and only from this machine: the mail holds live activation and reset
    links, so a development server reachable from elsewhere does not show it."""
    if settings.PRODUCTION or request.META.get("REMOTE_ADDR") not in {"127.0.0.1", "::1"}:
        raise Http404


def dev_mail_list(request: HttpRequest) -> HttpResponse:
    """Development only: the e-mails the portal sent, newest first.

    Read from the development backend's copies: the outbox wipes what it has sent.
    """
    _development_only(request)
    return render(request, "web/dev_mail_list.html", {"messages": dev_mail.dev_mail_list()})


def dev_mail_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _development_only(request)
    mail = dev_mail.dev_mail_get(pk)
    if mail is None:
        raise Http404
    return render(request, "web/dev_mail_detail.html", {"mail": mail})


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 404}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, called while the exception is being handled."""
    if is_outage(sys.exc_info()[1]):
        return unavailable_page(request)
    return render(request, "web/error.html", {"status": 500}, status=500)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/error.html", {"status": 403}, status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(request, "web/error.html", {"status": 403, "csrf": True}, status=403)
