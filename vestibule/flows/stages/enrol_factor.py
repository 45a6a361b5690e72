"""enrol_factor: a member who must use a second factor and has none adds one before anything.

Right after the password (the member is not signed in yet): an authenticator app, from its
QR code or its secret typed by hand, confirmed by a first code. Confirming proves the app,
so the member is signed in with it at once. Passes by every member who has a factor, or who
may do without one.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vestibule.flows.engine import Stage, stage
from vestibule.flows.stages.second_factor import account_of, sign_in_finish
from vestibule.mfa.policy import has_factor, mfa_policy
from vestibule.mfa.services import totp_confirm, totp_new, totp_qr_svg, totp_uri


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code shown by the app"),
        max_length=12,
        error_messages={"required": gettext_lazy("Enter the code your app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


@stage("enrol_factor")
class EnrolFactor(Stage):
    template = "flows/enrol_factor.html"

    def applies(self) -> bool:
        account = account_of(self)
        if account is None or has_factor(account):
            return False
        # A section requiring a second factor (step_up) asks it of every member.
        return bool(self.data.get("step_up")) or mfa_policy(account) == "required"

    def secret(self) -> str:
        # Kept server-side until confirmed: the page shows it, the browser never sends it back.
        if "totp_secret" not in self.data:
            self.data["totp_secret"] = totp_new()
            self.run.save()
        return self.data["totp_secret"]

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        return EnrolForm(data)

    def context(self) -> dict[str, Any]:
        account = account_of(self)
        if account is None:
            return {}
        secret = self.secret()
        return {
            # segno's SVG: markup of our own making, no script (the CSP allows it inline).
            "qr_svg": mark_safe(totp_qr_svg(totp_uri(account=account, secret=secret))),  # noqa: S308
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        }

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        assert isinstance(form, EnrolForm)
        account = account_of(self)
        if account is None:
            return sign_in_finish(self, None, [])
        try:
            totp_confirm(
                account=account,
                secret=self.secret(),
                code=form.cleaned_data["code"],
                name="",
                request=self.request,
            )
        except ValidationError as refused:
            form.add_error("code", refused)
            return None
        response = sign_in_finish(self, account, ["otp"])
        messages.success(
            self.request,
            _(
                "Your authenticator app is added. Create your recovery codes now on "
                "“Sign-in security”: they let you in if you lose your phone."
            ),
        )
        return response
