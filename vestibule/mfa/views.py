"""« Compte » → « Sécurité de la connexion »: the member's factors and recovery codes.

The passkey part of the page is mfa/passkeys.html (mfa/webauthn.py's), included when it
exists. A secret being added and recovery codes just generated wait in the session sealed,
never in a form field or a URL.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from vestibule.mfa import services
from vestibule.mfa.forms import PasswordConfirmForm, TotpAddForm
from vestibule.mfa.models import Factor
from vestibule.mfa.policy import factors_of, mfa_policy
from vestibule.notifications.sealing import body_seal, body_unseal

PENDING_SECRET = "mfa.totp_pending"
SHOWN_CODES = "mfa.recovery_codes_shown"
PASSKEYS_TEMPLATE = "mfa/passkeys.html"


def _passkeys_template() -> str | None:
    try:
        get_template(PASSKEYS_TEMPLATE)
    except TemplateDoesNotExist:
        return None
    return PASSKEYS_TEMPLATE


def _security_url() -> str:
    return reverse("mfa:security")


@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    account = request.user
    # Codes shown once: leaving their page for this one forgets them.
    request.session.pop(SHOWN_CODES, None)
    return render(
        request,
        "mfa/security.html",
        {
            "factors": factors_of(account),
            "policy": mfa_policy(account),
            "codes_left": services.recovery_codes_left(account),
            "passkeys_template": _passkeys_template(),
        },
    )


@never_cache
@login_required
def totp_add(request: HttpRequest) -> HttpResponse:
    """The QR code and the secret as text; the app is added once it shows a right code."""
    account = request.user
    sealed = request.session.get(PENDING_SECRET)
    # A reload keeps the secret the app may have scanned already.
    secret = body_unseal(sealed) if sealed else services.totp_new()
    request.session[PENDING_SECRET] = body_seal(secret)
    form = TotpAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            factor = services.totp_confirm(
                account=account,
                secret=secret,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                request=request,
            )
        except ValidationError as refused:
            form.add_error("code", refused)
        else:
            del request.session[PENDING_SECRET]
            messages.success(
                request, _("The app “%(name)s” has been added.") % {"name": factor.name}
            )
            return HttpResponseRedirect(_security_url())
    uri = services.totp_uri(account=account, secret=secret)
    context = {
        "form": form,
        "qr_svg": services.totp_qr_svg(uri),
        # Grouped by four, as apps show a secret typed by hand.
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }
    return render(request, "mfa/totp_add.html", context)


@never_cache
@login_required
def factor_remove(request: HttpRequest, factor_id: int) -> HttpResponse:
    account = request.user
    factor = get_object_or_404(Factor, pk=factor_id, account=account)
    form = PasswordConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.factor_remove(
                factor=factor, password=form.cleaned_data["current_password"], request=request
            )
        except services.FactorRemovalRefused as refused:
            if refused.outcome == "locked":
                logout(request)
                messages.error(request, _("Too many failed attempts: your account is locked."))
                return HttpResponseRedirect(reverse("accounts:login"))
            if refused.outcome == "required":
                messages.error(
                    request,
                    _(
                        "Your organisation requires a second factor: add another one before "
                        "removing this one."
                    ),
                )
                return HttpResponseRedirect(_security_url())
            form.add_error("current_password", _("This is not your current password."))
        else:
            messages.success(request, _("“%(name)s” has been removed.") % {"name": factor.name})
            return HttpResponseRedirect(_security_url())
    return render(request, "mfa/factor_remove.html", {"form": form, "factor": factor})


@never_cache
@require_POST
@login_required
def recovery_codes_generate(request: HttpRequest) -> HttpResponse:
    """New codes, shown on this response only (and downloadable until the page is left)."""
    codes = services.recovery_codes_generate(account=request.user, request=request)
    request.session[SHOWN_CODES] = body_seal("\n".join(codes))
    return render(request, "mfa/recovery_codes.html", {"codes": codes})


@never_cache
@require_POST
@login_required
def recovery_codes_download(request: HttpRequest) -> HttpResponse:
    """The codes just shown, as a text file; once (they leave the session)."""
    sealed = request.session.pop(SHOWN_CODES, None)
    if not sealed:
        raise Http404
    organisation = str(services.get_profile().organisation.name)
    lines = [
        _("Recovery codes — %(organisation)s") % {"organisation": organisation},
        request.user.identifier,
        "",
        *body_unseal(sealed).splitlines(),
        "",
        _("Each code can be used once, instead of your app or passkey."),
    ]
    response = HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
    filename = f"recovery-codes-{timezone.localdate():%Y-%m-%d}.txt"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
