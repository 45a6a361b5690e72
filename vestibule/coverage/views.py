"""The « Couverture » pages (seed 004): thin views over services.py.

Every page is about the signed-in account's own coverage: no URL names a record, so no
one can reach another person's.
"""

import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from vestibule.config import get_profile
from vestibule.coverage import forms, throttles
from vestibule.coverage.family import (
    dependent_invite,
    family_invitation_accept,
    family_invitation_decline,
)
from vestibule.coverage.models import CoverageRecord
from vestibule.coverage.selectors import (
    coverage_of,
    family_invitations_for,
    family_rows,
    region_name,
)
from vestibule.coverage.services import (
    AccessCodeInvalid,
    CoverageRefused,
    account_region_change,
    code_resend,
    code_resend_wait,
    coverage_claim,
)

CLAIM_FLOW = "coverage_claim_flow"
CLAIM_ERRORS = {
    "unknown": gettext_lazy(
        "This access code is not valid in your region. Check it, or ask for a new one."
    ),
    "used": gettext_lazy("This access code has already been used. Ask for a new one."),
    "expired": gettext_lazy("This access code has expired. Ask for a new one."),
    "record_linked": gettext_lazy(
        "This coverage is already linked to another account. Contact us: we will help you."
    ),
    "family_existing_account": gettext_lazy(
        "You created your account before being invited to your family member's coverage, so "
        "you cannot claim it yourself. Contact us: we will link your account to it for you."
    ),
    "throttled": gettext_lazy("Too many wrong access codes. Try again later or contact us."),
}
INVITE_ERRORS = {
    "already_covered": gettext_lazy(
        "This address is already on a coverage record. Your family member can ask for their "
        "access code, or contact us."
    ),
    "throttled": gettext_lazy("You have sent many invitations today. Try again tomorrow."),
    "declined": gettext_lazy(
        "This person declined your invitation: it cannot be sent again. Contact us if it was "
        "a mistake."
    ),
    "already_invited": gettext_lazy("This invitation has already been sent."),
}
ANSWER_ERRORS = {
    "not_found": gettext_lazy("This invitation is not addressed to your account."),
    "answered": gettext_lazy("This invitation has already been answered."),
    "account_linked": gettext_lazy(
        "Your account is already linked to a coverage, so it cannot join another one. You can "
        "decline this invitation."
    ),
}


def coverage_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, and the profile has regions (no regions, no coverage feature)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not get_profile().regions:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _claim_flow(request: HttpRequest, *, new: bool = False) -> str:
    """The id of this session's series of code tries; a new code starts a new series."""
    if new or CLAIM_FLOW not in request.session:
        request.session[CLAIM_FLOW] = secrets.token_urlsafe(12)
    return request.session[CLAIM_FLOW]


def _claim_page(
    request: HttpRequest,
    code_form: django_forms.Form | None = None,
    region_form: django_forms.Form | None = None,
) -> HttpResponse:
    account = request.user
    tries_left = throttles.flow_tries_left(
        account_id=account.pk, flow=_claim_flow(request), profile=get_profile()
    )
    return render(
        request,
        "coverage/claim.html",
        {
            "form": code_form or forms.AccessCodeForm(),
            "region_form": region_form or forms.RegionForm(initial={"region": account.region}),
            "region_name": region_name(account.region),
            "flow_ended": tries_left == 0,
        },
    )


def _unlocked_page(
    request: HttpRequest, record: CoverageRecord, invite_form: django_forms.Form | None = None
) -> HttpResponse:
    may_invite = record.is_primary and record.allows_dependents
    return render(
        request,
        "coverage/unlocked.html",
        {
            "record": record,
            "family": family_rows(record),
            "region_name": region_name(record.region),
            "invite_form": (invite_form or forms.FamilyInviteForm()) if may_invite else None,
        },
    )


@coverage_page
def status(request: HttpRequest) -> HttpResponse:
    record = coverage_of(request.user)
    if record is not None:
        return _unlocked_page(request, record)
    return _claim_page(request)


@require_POST
@coverage_page
def claim(request: HttpRequest) -> HttpResponse:
    if coverage_of(request.user) is not None:
        return HttpResponseRedirect(reverse("coverage:status"))
    form = forms.AccessCodeForm(request.POST)
    if form.is_valid():
        try:
            coverage_claim(
                account=request.user,
                code=form.cleaned_data["code"],
                flow=_claim_flow(request),
                request=request,
            )
        except AccessCodeInvalid as invalid:
            if invalid.reason == "account_linked":
                return HttpResponseRedirect(reverse("coverage:status"))
            # An ended claim is told by the page itself, above the form.
            if invalid.reason != "flow_ended":
                form.add_error("code", CLAIM_ERRORS[invalid.reason])
        else:
            # The status page itself says « Vos services sont débloqués ».
            return HttpResponseRedirect(reverse("coverage:status"))
    return _claim_page(request, code_form=form)


@coverage_page
def resend(request: HttpRequest) -> HttpResponse:
    """« Renvoyer mon code d'invitation »: the same answer whether or not the address is known."""
    if coverage_of(request.user) is not None:
        return HttpResponseRedirect(reverse("coverage:status"))
    form = forms.ResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wait = code_resend_wait(form.cleaned_data["email"])
        if wait:
            # Not sent, and said: the same page whether or not the address was invited.
            retry_at = timezone.now() + timedelta(seconds=wait)
            return render(request, "coverage/resend.html", {"form": form, "retry_at": retry_at})
        accepted = code_resend(
            email=form.cleaned_data["email"],
            region=request.user.region,
            account=request.user,
            language=request.LANGUAGE_CODE,
            request=request,
        )
        if accepted:
            _claim_flow(request, new=True)
            messages.success(
                request,
                _(
                    "If this address was invited to a coverage of your region, an e-mail with a "
                    "new access code is on its way to it. Ask for the code at both your personal "
                    "and your work address, and check your junk and spam folders."
                ),
            )
            return HttpResponseRedirect(reverse("coverage:status"))
        form.add_error(None, _("Too many requests. Try again in an hour."))
    return render(request, "coverage/resend.html", {"form": form})


@require_POST
@coverage_page
def region(request: HttpRequest) -> HttpResponse:
    form = forms.RegionForm(request.POST)
    if not form.is_valid():
        return _claim_page(request, region_form=form)
    try:
        record = account_region_change(
            account=request.user, region=form.cleaned_data["region"], request=request
        )
    except CoverageRefused:
        return HttpResponseRedirect(reverse("coverage:status"))
    if record is None:
        messages.success(
            request,
            _("Your account's region is now %(region)s.")
            % {"region": region_name(request.user.region)},
        )
    return HttpResponseRedirect(reverse("coverage:status"))


@require_POST
@coverage_page
def family_invite(request: HttpRequest) -> HttpResponse:
    record = coverage_of(request.user)
    if record is None:
        return HttpResponseRedirect(reverse("coverage:status"))
    form = forms.FamilyInviteForm(request.POST)
    if form.is_valid():
        try:
            dependent_invite(
                primary_account=request.user,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                email=form.cleaned_data["email"],
                request=request,
            )
        except CoverageRefused as refused:
            if refused.reason == "not_allowed":
                raise PermissionDenied from None
            field = None if refused.reason == "throttled" else "email"
            form.add_error(field, INVITE_ERRORS[refused.reason])
        else:
            messages.success(
                request,
                _("The invitation has been sent to %(email)s.")
                % {"email": form.cleaned_data["email"]},
            )
            return HttpResponseRedirect(reverse("coverage:status"))
    return _unlocked_page(request, record, invite_form=form)


@coverage_page
def family_invitation(request: HttpRequest) -> HttpResponse:
    """« Invitation familiale »: the invited person accepts or declines, by name and plan.

    Reached from the portal home and from the invitation e-mail. Only invitations sent to
    the signed-in account's own address are shown; until one is accepted, nothing of the
    primary member's coverage is shown anywhere else.
    """
    if request.method == "POST":
        answer = request.POST.get("answer")
        try:
            invitation_id = int(request.POST.get("invitation", ""))
        except ValueError:
            invitation_id = 0
        if answer not in ("accept", "decline") or not invitation_id:
            return HttpResponseRedirect(reverse("coverage:family_invitation"))
        try:
            if answer == "accept":
                record = family_invitation_accept(
                    account=request.user, invitation_id=invitation_id, request=request
                )
                messages.success(
                    request,
                    _("You have joined the coverage of %(name)s.")
                    % {"name": (record.primary or record).full_name},
                )
                return HttpResponseRedirect(reverse("coverage:status"))
            family_invitation_decline(
                account=request.user, invitation_id=invitation_id, request=request
            )
            messages.success(
                request,
                _("You have declined the invitation. Your account is not linked to this coverage."),
            )
        except CoverageRefused as refused:
            messages.error(request, ANSWER_ERRORS[refused.reason])
        return HttpResponseRedirect(reverse("coverage:family_invitation"))
    return render(
        request,
        "coverage/family_invitation.html",
        {
            "invitations": [
                (invitation, region_name(invitation.record.region))
                for invitation in family_invitations_for(request.user)
            ],
            "already_covered": coverage_of(request.user) is not None,
        },
    )
