"""The staff console's support page of an account, and its actions.

One page shows what support needs to answer a member (status, lock, sign-ins, sessions,
memberships, coverage, audit trail); each button on it is a POST form to one action view
below. An action view checks its own permission, calls the service that holds the rule
and audits it with the staff account, and says the outcome as an admin message: a refusal
(`AccountActionRefused`) changes nothing. No action sets a password (ASVS 6.4.6): staff
send a reset or activation link instead.

The views are served by the Account admin (`support/admin.py`), behind `admin_view`:
anyone not signed in as staff is sent to the sign-in page before reaching them.
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vestibule.accounts.email_change import email_change_request, email_normalise
from vestibule.accounts.lifecycle import (
    AccountActionRefused,
    account_delete,
    account_disable,
    account_enable,
    account_sessions_end,
)
from vestibule.accounts.lockout import account_unlock
from vestibule.accounts.models import Account
from vestibule.accounts.session_records import session_records_of
from vestibule.audit.models import Event
from vestibule.config import get_profile
from vestibule.coverage.models import CoverageRecord
from vestibule.establishments.models import Membership
from vestibule.flows.links import activation_link_resend, reset_link_send
from vestibule.mfa.forms import FactorsRemoveForm
from vestibule.mfa.policy import factors_of, mfa_policy
from vestibule.mfa.services import factors_remove_all, recovery_codes_left
from vestibule.privacy.services import account_export
from vestibule.support.forms import DeleteForm, DisableForm, EmailChangeForm

# The permission each action needs (Account.Meta.permissions; delete is Django's own).
PERMISSIONS = {
    "disable": "accounts.disable_account",
    "change_email": "accounts.change_account_email",
    "send_links": "accounts.send_account_links",
    "end_sessions": "accounts.end_account_sessions",
    "export": "accounts.export_account",
    "delete": "accounts.delete_account",
    "unlock": "accounts.change_account",
    "remove_factors": "mfa.remove_factors",
}
SIGN_INS_SHOWN = 10
EVENTS_SHOWN = 50


def support_url(account: Account) -> str:
    return reverse("admin:accounts_account_support", args=[account.pk])


def may_see(user: Account) -> bool:
    """The page is for staff who may view accounts or act on them."""
    return user.has_perm("accounts.view_account") or any(
        user.has_perm(permission) for permission in PERMISSIONS.values()
    )


def _events_about(account: Account) -> QuerySet[Event]:
    # As audit.events_pseudonymise sees them: the account's, and what was typed for it.
    typed = [account.email.lower(), *([account.code] if account.code else [])]
    return Event.objects.filter(Q(account_id=account.pk) | Q(subject__in=typed))


def _locked_until(account: Account) -> datetime | None:
    if account.locked_at is None:
        return None
    cooloff = get_profile().lockout.cooloff_minutes
    return account.locked_at + timedelta(minutes=cooloff) if cooloff else None


def account_support(
    request: HttpRequest,
    pk: int,
    *,
    model_admin: ModelAdmin,
    forms: dict | None = None,
) -> HttpResponse:
    """The support page; `forms` holds a posted form to show again with its errors."""
    if not may_see(request.user):
        raise PermissionDenied
    account = get_object_or_404(Account.objects.select_related("member"), pk=pk)
    forms = {
        "disable_form": DisableForm(),
        "email_form": EmailChangeForm(),
        "factors_form": FactorsRemoveForm(),
        **(forms or {}),
    }
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Support: %(account)s") % {"account": account.email},
        "account": account,
        "locked_until": _locked_until(account),
        "sign_ins": _events_about(account).filter(kind="sign_in.succeeded")[:SIGN_INS_SHOWN],
        "sessions": session_records_of(account),
        "memberships": Membership.objects.select_related("establishment").filter(account=account),
        "coverage": CoverageRecord.objects.select_related("primary")
        .filter(account=account)
        .first(),
        "events": _events_about(account)[:EVENTS_SHOWN],
        "factors": factors_of(account),
        "recovery_codes_left": recovery_codes_left(account),
        "mfa_policy": mfa_policy(account),
        # What the profile asks support to check before removing a member's factors.
        "mfa_removal_help": str(get_profile().mfa.removal_help),
        # The buttons shown: each action the staff member may take.
        "can": {name: request.user.has_perm(view.permission) for name, view in ACTIONS.items()},
        **forms,
    }
    return render(request, "admin/accounts/account/support.html", context)


def staff_action(permission_key: str) -> Callable:
    """An action on the account `pk`, for staff holding its permission (a 403 for others).

    A refusal of the rules is shown as an error on the support page, and nothing changes:
    each service runs in one transaction and refuses before it writes.
    """

    def decorate(action: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(action)
        def view(request: HttpRequest, pk: int, *, model_admin: ModelAdmin) -> HttpResponse:
            if not request.user.has_perm(PERMISSIONS[permission_key]):
                raise PermissionDenied
            account = get_object_or_404(Account, pk=pk)
            try:
                return action(request, account, model_admin=model_admin)
            except AccountActionRefused as refused:
                messages.error(request, refused.message)
                return HttpResponseRedirect(support_url(account))

        view.permission = PERMISSIONS[permission_key]
        return view

    return decorate


def _done(
    request: HttpRequest, account: Account, message: str, level: int = messages.SUCCESS
) -> HttpResponse:
    messages.add_message(request, level, message)
    return HttpResponseRedirect(support_url(account))


@require_POST
@staff_action("disable")
def disable(request: HttpRequest, account: Account, *, model_admin: ModelAdmin) -> HttpResponse:
    form = DisableForm(request.POST)
    if not form.is_valid():
        return account_support(
            request, account.pk, model_admin=model_admin, forms={"disable_form": form}
        )
    reason = form.cleaned_data["reason"]
    if account_disable(account=account, reason=reason, actor=request.user, request=request):
        return _done(request, account, _("The account has been disabled; its sessions have ended."))
    return _done(request, account, _("The account was disabled already."), messages.INFO)


@require_POST
@staff_action("disable")
def enable(request: HttpRequest, account: Account, *, model_admin: ModelAdmin) -> HttpResponse:
    if account_enable(account=account, actor=request.user, request=request):
        return _done(request, account, _("The account has been enabled."))
    return _done(request, account, _("The account was not disabled."), messages.INFO)


@staff_action("delete")
def delete(request: HttpRequest, account: Account, *, model_admin: ModelAdmin) -> HttpResponse:
    """A page that says what goes and what stays, then the deletion once confirmed."""
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        pseudonym = account_delete(
            account=account,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        messages.success(
            request,
            _("The account %(email)s has been deleted; the audit log now calls it %(pseudonym)s.")
            % {"email": account.email, "pseudonym": pseudonym},
        )
        return HttpResponseRedirect(reverse("admin:accounts_account_changelist"))
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Delete the account %(email)s") % {"email": account.email},
        "account": account,
        "form": form,
        "memberships": Membership.objects.select_related("establishment").filter(account=account),
    }
    return render(request, "admin/accounts/account/support_delete.html", context)


@require_POST
@staff_action("change_email")
def change_email(
    request: HttpRequest, account: Account, *, model_admin: ModelAdmin
) -> HttpResponse:
    """The new address gets a link; it becomes the login only once that link is opened."""
    form = EmailChangeForm(request.POST)
    if not form.is_valid():
        return account_support(
            request, account.pk, model_admin=model_admin, forms={"email_form": form}
        )
    new_email = email_normalise(form.cleaned_data["new_email"])
    email_change_request(account=account, new_email=new_email, actor=request.user, request=request)
    return _done(
        request,
        account,
        _("A confirmation link has been sent to %(email)s; the login changes when it is opened.")
        % {"email": new_email},
    )


@require_POST
@staff_action("send_links")
def send_reset(request: HttpRequest, account: Account, *, model_admin: ModelAdmin) -> HttpResponse:
    reset_link_send(account=account, actor=request.user, request=request)
    return _done(
        request,
        account,
        _("A password reset link has been sent to %(email)s.") % {"email": account.email},
    )


@require_POST
@staff_action("send_links")
def resend_activation(
    request: HttpRequest, account: Account, *, model_admin: ModelAdmin
) -> HttpResponse:
    activation_link_resend(account=account, actor=request.user, request=request)
    return _done(
        request,
        account,
        _("The activation e-mail has been sent again to %(email)s.") % {"email": account.email},
    )


@require_POST
@staff_action("end_sessions")
def end_sessions(
    request: HttpRequest, account: Account, *, model_admin: ModelAdmin
) -> HttpResponse:
    account_sessions_end(account=account, actor=request.user, request=request)
    return _done(request, account, _("Every session of this account has ended."))


@require_POST
@staff_action("unlock")
def unlock(request: HttpRequest, account: Account, *, model_admin: ModelAdmin) -> HttpResponse:
    if account_unlock(account=account, request=request, by=request.user.email):
        return _done(request, account, _("The account has been unlocked."))
    return _done(request, account, _("The account was not locked."), messages.INFO)


@require_POST
@staff_action("export")
def export(request: HttpRequest, account: Account, *, model_admin: ModelAdmin) -> HttpResponse:
    """The member's data, as the member would download it (a POST: each one is audited)."""
    data = account_export(account=account, actor=request.user, request=request)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    filename = f"vestibule-account-{account.pk}-{timezone.localdate():%Y-%m-%d}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@staff_action("remove_factors")
def remove_factors(
    request: HttpRequest, account: Account, *, model_admin: ModelAdmin
) -> HttpResponse:
    """For a member who lost every factor, after the checks the profile's help describes."""
    form = FactorsRemoveForm(request.POST)
    if not form.is_valid():
        return account_support(
            request, account.pk, model_admin=model_admin, forms={"factors_form": form}
        )
    factors_remove_all(
        account=account, actor=request.user, reason=form.cleaned_data["reason"], request=request
    )
    return _done(
        request,
        account,
        _(
            "The second factors and recovery codes have been removed; the member has been "
            "told by e-mail."
        ),
    )


# The URL of each is …/support/<name with dashes>/, named admin:accounts_account_support_<name>.
ACTIONS = {
    "disable": disable,
    "enable": enable,
    "delete": delete,
    "change_email": change_email,
    "send_reset": send_reset,
    "resend_activation": resend_activation,
    "end_sessions": end_sessions,
    "unlock": unlock,
    "export": export,
    "remove_factors": remove_factors,
}
