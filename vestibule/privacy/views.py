import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vestibule.accounts.lifecycle import AccountActionRefused
from vestibule.accounts.lockout import password_verify
from vestibule.config import get_profile
from vestibule.privacy.forms import DeletionRequestForm
from vestibule.privacy.services import account_deletion_request, account_export


def _page(request: HttpRequest, form: DeletionRequestForm, status: int = 200) -> HttpResponse:
    return render(
        request,
        "privacy/privacy.html",
        {"form": form, "grace_days": get_profile().accounts.deletion_grace_days},
        status=status,
    )


@login_required
def privacy(request: HttpRequest) -> HttpResponse:
    """« Compte » → « Mes données »: download them, or ask for the account's deletion."""
    return _page(request, DeletionRequestForm())


@never_cache
@require_POST
@login_required
def export(request: HttpRequest) -> HttpResponse:
    """The member's data as a JSON file (a POST: each download is audited)."""
    data = account_export(account=request.user, actor=request.user, request=request)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"vestibule-data-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@login_required
def deletion_request(request: HttpRequest) -> HttpResponse:
    form = DeletionRequestForm(request.POST)
    if not form.is_valid():
        return _page(request, form)
    account = request.user
    check = password_verify(
        account=account, password=form.cleaned_data["password"], request=request
    )
    if check.outcome == "locked":
        logout(request)
        messages.error(request, _("Too many failed attempts: your account is locked."))
        return HttpResponseRedirect(reverse("accounts:login"))
    if check.outcome != "ok":
        form.add_error("password", _("This is not your current password."))
        return _page(request, form)
    try:
        due = account_deletion_request(account=account, request=request)
    except AccountActionRefused as refused:
        form.add_error(None, refused.message)
        return _page(request, form)
    logout(request)
    messages.success(
        request,
        _(
            "Your account will be deleted on %(date)s. To cancel, sign in before that date. "
            "An e-mail confirms it."
        )
        % {"date": date_format(timezone.localtime(due), "DATE_FORMAT")},
    )
    return HttpResponseRedirect("/")
