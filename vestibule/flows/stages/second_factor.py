"""second_factor: after the password, a passkey or a code; then the member is signed in.

A passkey is asked first when the account has one; « Utiliser une autre méthode » shows the
code field, which takes the authenticator app's code or a recovery code. Wrong codes count
toward the password's lockout (mfa.services). Nobody is signed in before this stage passes.
Without a password (« Se connecter avec une clé d'accès »), only a passkey, which names
its account.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.models import Account
from vestibule.accounts.sessions import account_sign_in
from vestibule.audit.services import event_record
from vestibule.flows.engine import Stage, stage
from vestibule.mfa.models import Factor
from vestibule.mfa.policy import factors_of
from vestibule.mfa.services import TOTP_DIGITS, recovery_code_use, totp_verify
from vestibule.mfa.webauthn import PasskeyRefused, authentication_options, authentication_verify

LOCKED = _("Too many failed attempts: your account is locked. Reset your password to unlock it.")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=32,
        error_messages={"required": _("Enter the code your app shows, or a recovery code.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


class PasskeyForm(forms.Form):
    # Filled by mfa/passkey.js with the browser's answer (JSON); empty for « other method ».
    credential = forms.CharField(required=False, widget=forms.HiddenInput)


def account_of(current: Stage) -> Account | None:
    return Account.objects.filter(
        pk=current.data.get("account_id"), status=Account.Status.ACTIVE
    ).first()


def sign_in_finish(current: Stage, account: Account | None, methods: list[str]) -> HttpResponse:
    """The flow's end: `account` is signed in with the methods of every stage, or sent back
    to the sign-in page when it was disabled or locked meanwhile."""
    current.run.end()
    if account is not None:
        account.refresh_from_db(fields=["status", "locked_at"])
    if account is None or account.status != Account.Status.ACTIVE or account.locked_at:
        return HttpResponseRedirect(reverse("accounts:login"))
    used = [*current.data["methods"], *methods, "mfa"]
    account_sign_in(current.request, account, methods=used)
    event_record("sign_in.succeeded", request=current.request, account=account, methods=used)
    return HttpResponseRedirect(current.data.get("next") or reverse("web:home"))


@stage("second_factor")
class SecondFactor(Stage):
    template = "flows/second_factor.html"

    @property
    def passwordless(self) -> bool:
        return self.data.get("account_id") is None

    def passkey_asked(self, account: Account | None) -> bool:
        if self.passwordless:
            return True
        if self.data.get("other_method") or account is None:
            return False
        return factors_of(account).filter(kind=Factor.Kind.WEBAUTHN).exists()

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        if self.passkey_asked(account_of(self)):
            return PasskeyForm(data)
        return CodeForm(data)

    def context(self) -> dict[str, Any]:
        account = account_of(self)
        has_code = account is not None and factors_of(account).filter(kind=Factor.Kind.TOTP)
        return {
            "passkey": self.passkey_asked(account),
            "passwordless": self.passwordless,
            "has_app": bool(has_code),
            "options_url": reverse("flows:asset", args=[self.run.name, "passkey-options"]),
        }

    def asset(self, what: str) -> HttpResponse | None:
        """The passkey request's options (mfa/passkey.js posts for them)."""
        if what != "passkey-options" or not self.passkey_asked(account_of(self)):
            return None
        account = None if self.passwordless else account_of(self)
        return JsonResponse(authentication_options(request=self.request, account=account))

    def passkey_check(self, form: PasskeyForm, account: Account | None) -> HttpResponse | None:
        credential = form.cleaned_data["credential"]
        try:
            account = authentication_verify(
                request=self.request, credential=credential, account=account
            )
        except PasskeyRefused as refused:
            if refused.reason == "locked":
                return self.locked()
            form.add_error(None, refused.message)
            return None
        return sign_in_finish(self, account, ["hwk"])

    def locked(self) -> HttpResponse:
        self.run.end()
        messages.error(self.request, LOCKED)
        return HttpResponseRedirect(reverse("accounts:login"))

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        account = account_of(self)
        if self.passwordless:
            assert isinstance(form, PasskeyForm)
            return self.passkey_check(form, None)
        if account is None:
            return sign_in_finish(self, None, [])
        if "other_method" in self.request.POST:
            self.data["other_method"] = True
            self.run.save()
            return HttpResponseRedirect(reverse("flows:flow", args=[self.run.name]))
        if isinstance(form, PasskeyForm):
            return self.passkey_check(form, account)
        assert isinstance(form, CodeForm)
        code = "".join(form.cleaned_data["code"].split())
        if len(code) == TOTP_DIGITS and code.isdigit():
            accepted = totp_verify(account=account, code=code, request=self.request)
        else:  # a recovery code: another one-time password (RFC 8176 "otp")
            accepted = recovery_code_use(account=account, code=code, request=self.request)
        if accepted:
            return sign_in_finish(self, account, ["otp"])
        account.refresh_from_db(fields=["locked_at"])
        if account.locked_at is not None:
            return self.locked()
        form.add_error("code", _("This code is not valid. Type the code your app shows now."))
        return None
