from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vestibule.accounts.email_change import (
    EmailChangeRefused,
    email_change_allowed,
    email_change_confirm,
    email_change_pending,
    email_change_request,
)
from vestibule.accounts.forms import (
    EmailChangeForm,
    IdentifierReminderForm,
    PasswordChangeForm,
    SecurityQuestionsChangeForm,
    SignInForm,
)
from vestibule.accounts.lockout import password_verify, sign_in_attempt
from vestibule.accounts.redirects import safe_next
from vestibule.accounts.security_questions import security_answers_set
from vestibule.accounts.services import account_set_password, identifier_remind
from vestibule.accounts.session_records import (
    browser_label,
    session_end,
    session_is_current,
    session_record_open,
    session_records_of,
)
from vestibule.accounts.sessions import (
    account_sign_in,
    sessions_end_everywhere,
    sessions_end_others,
    sign_in_hand_off,
)
from vestibule.audit.services import event_record
from vestibule.config import get_profile

DEFAULT_QUESTIONS = 3


def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    outcome = None
    timed_out = request.session.pop("vestibule_timed_out", False)
    if request.method == "POST" and "passkey" in request.POST and get_profile().mfa.passwordless:
        # « Se connecter avec une clé d'accès »: the sign-in flow asks for the passkey alone.
        next_url = safe_next(request, reverse("web:home"))
        sign_in_hand_off(request, None, next_url=next_url, methods=[])
        return HttpResponseRedirect(reverse("flows:flow", args=["sign_in"]))
    if request.method == "POST" and form.is_valid():
        result = sign_in_attempt(
            identifier=form.cleaned_data["identifier"],
            password=form.cleaned_data["password"],
            request=request,
        )
        if result.outcome == "ok":
            next_url = safe_next(request, reverse("web:home"))
            if result.factor_needed:
                # Not signed in yet: the sign-in flow asks for the factor (or its enrolment).
                sign_in_hand_off(request, result.account, next_url=next_url, methods=["pwd"])
                return HttpResponseRedirect(reverse("flows:flow", args=["sign_in"]))
            account_sign_in(request, result.account, methods=["pwd"])
            return HttpResponseRedirect(next_url)
        outcome = result
    return render(
        request,
        "accounts/sign_in.html",
        {"form": form, "outcome": outcome, "next": safe_next(request, ""), "timed_out": timed_out},
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        event_record("sign_out", request=request, account=request.user)
    logout(request)  # flushes the session on the server
    messages.info(request, _("You are signed out."))
    return HttpResponseRedirect("/")


@require_POST
@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    """Every session of the account ends (other browsers, this one) and every section is told."""
    sessions_end_everywhere(account=request.user, actor=request.user, request=request)
    logout(request)
    messages.info(request, _("You are signed out everywhere."))
    return HttpResponseRedirect("/")


def forgotten_identifier(request: HttpRequest) -> HttpResponse:
    """Seed 001: the support contact; where the profile allows, the identifier by e-mail."""
    form = (
        IdentifierReminderForm(request.POST or None) if get_profile().identifier_reminder else None
    )
    if request.method == "POST" and form is not None and form.is_valid():
        wait = identifier_remind(email=form.cleaned_data["email"], request=request)
        if wait:
            # Not sent: said, the same for a known and an unknown address.
            retry_at = timezone.now() + timedelta(seconds=wait)
            context = {"form": form, "retry_at": retry_at}
            return render(request, "accounts/forgotten_identifier.html", context)
        messages.success(
            request,
            _("If an account has this address, an e-mail giving its identifier has been sent."),
        )
        return HttpResponseRedirect(reverse("accounts:forgotten_identifier"))
    return render(request, "accounts/forgotten_identifier.html", {"form": form})


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html", {"account": request.user})


def _current_password_refused(request: HttpRequest, form: forms.Form) -> HttpResponse | None:
    """Check the form's current password; a wrong one counts toward the lockout.

    Returns the response to send when the account just got locked (signed out); otherwise
    None, with an error on the field when the password was wrong.
    """
    check = password_verify(
        account=request.user, password=form.cleaned_data["current_password"], request=request
    )
    if check.outcome == "locked":
        logout(request)
        messages.error(request, _("Too many failed attempts: your account is locked."))
        return HttpResponseRedirect(reverse("accounts:login"))
    if check.outcome != "ok":
        form.add_error("current_password", _("This is not your current password."))
    return None


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    account = request.user
    form = PasswordChangeForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        locked = _current_password_refused(request, form)
        if locked is not None:
            return locked
        if not form.errors:
            try:
                account_set_password(
                    account=account,
                    password=form.cleaned_data["password"],
                    event="password.changed",
                    request=request,
                )
            except ValidationError as refused:
                form.add_error("password", refused)
                return render(request, "accounts/password_change.html", {"form": form})
            # This session stays; every other session of the account ends.
            update_session_auth_hash(request, account)
            messages.success(request, _("Your password has been changed."))
            return HttpResponseRedirect(reverse("accounts:account"))
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
def security_questions(request: HttpRequest) -> HttpResponse:
    """« Compte » → the member's security questions, changed after the current password."""
    profile = get_profile()
    if not profile.security_questions:
        raise Http404
    account = request.user
    count = max(account.security_answers.count(), DEFAULT_QUESTIONS)
    form = SecurityQuestionsChangeForm(request.POST or None, count=count)
    if request.method == "POST" and form.is_valid():
        locked = _current_password_refused(request, form)
        if locked is not None:
            return locked
        if not form.errors:
            security_answers_set(account=account, answers=form.answers(), request=request)
            messages.success(request, _("Your security questions have been saved."))
            return HttpResponseRedirect(reverse("accounts:account"))
    return render(request, "accounts/security_questions.html", {"form": form})


@login_required
def email_change(request: HttpRequest) -> HttpResponse:
    """« Compte » → the login e-mail, changed once the new address confirms it (its link)."""
    if not get_profile().accounts.email_change:
        raise Http404
    account = request.user
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        locked = _current_password_refused(request, form)
        if locked is not None:
            return locked
        if not form.errors and not email_change_allowed(account):
            form.add_error("new_email", EmailChangeRefused("too_many").message)
        if not form.errors:
            new_email = form.cleaned_data["new_email"]
            try:
                email_change_request(
                    account=account, new_email=new_email, actor=account, request=request
                )
            except EmailChangeRefused as refused:
                form.add_error("new_email", refused.message)
            else:
                messages.success(
                    request,
                    _(
                        "A confirmation link has been sent to %(email)s. Your sign-in e-mail "
                        "address changes when you open it."
                    )
                    % {"email": new_email.strip().lower()},
                )
                return HttpResponseRedirect(reverse("accounts:account"))
    return render(request, "accounts/email_change.html", {"form": form, "account": account})


EMAIL_CHANGE_KEY = "vestibule_email_change_key"
# Gone for a spent or expired link, not found for an unknown one; a conflict otherwise (a
# disabled account, an address taken since the link was sent).
LINK_REFUSAL_STATUS = {"link_used": 410, "link_expired": 410, "link_unknown": 404}


def email_change_link(request: HttpRequest, key: str) -> HttpResponse:
    """The e-mailed link: its key moves into the session, off the URL (and the Referer)."""
    request.session[EMAIL_CHANGE_KEY] = key
    return HttpResponseRedirect(reverse("accounts:email_change_confirm"))


def email_change_confirm_page(request: HttpRequest) -> HttpResponse:
    """Shows the new address (GET changes nothing); « Confirmer » makes it the login."""
    key = request.session.get(EMAIL_CHANGE_KEY, "")
    try:
        account, new_email = email_change_pending(key=key)
        if request.method == "POST":
            account = email_change_confirm(key=key, request=request)
    except EmailChangeRefused as refused:
        if refused.code == "sign_in_required":
            messages.info(request, refused.message)
            confirm = reverse("accounts:email_change_confirm")
            return HttpResponseRedirect(f"{reverse('accounts:login')}?next={confirm}")
        request.session.pop(EMAIL_CHANGE_KEY, None)
        return render(
            request,
            "accounts/email_change_invalid.html",
            {"message": refused.message},
            status=LINK_REFUSAL_STATUS.get(refused.code, 409),
        )
    if request.method == "POST":
        request.session.pop(EMAIL_CHANGE_KEY, None)
        messages.success(
            request, _("Your sign-in e-mail address is now %(email)s.") % {"email": account.email}
        )
        if request.user.is_authenticated and request.user.pk == account.pk:
            return HttpResponseRedirect(reverse("accounts:account"))
        return HttpResponseRedirect(reverse("accounts:login"))
    return render(request, "accounts/email_change_confirm.html", {"new_email": new_email})


@login_required
def sessions(request: HttpRequest) -> HttpResponse:
    """« Sessions actives »: browser, address and last use of each; end one, or the others."""
    records = list(session_records_of(request.user))
    if not any(session_is_current(record, request) for record in records):
        # A session opened before records existed: listed from now on.
        session_record_open(request=request, account=request.user)
        records = list(session_records_of(request.user))
    rows = [
        {
            "record": record,
            "browser": browser_label(record.user_agent),
            "current": session_is_current(record, request),
        }
        for record in records
    ]
    return render(request, "accounts/sessions.html", {"rows": rows})


@require_POST
@login_required
def session_end_view(request: HttpRequest, record_id: int) -> HttpResponse:
    record = request.user.session_records.filter(pk=record_id).first()
    if record is not None and session_is_current(record, request):
        # « Terminer » on this very session: a sign-out.
        return sign_out(request)
    if session_end(account=request.user, record_id=record_id, actor=request.user, request=request):
        messages.success(request, _("The session has been ended."))
    else:
        messages.info(request, _("This session had already ended."))
    return HttpResponseRedirect(reverse("accounts:sessions"))


@require_POST
@login_required
def sessions_end_others_view(request: HttpRequest) -> HttpResponse:
    sessions_end_others(request=request)
    messages.success(request, _("Your other sessions have been ended."))
    return HttpResponseRedirect(reverse("accounts:sessions"))
