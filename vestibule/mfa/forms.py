from django import forms
from django.utils.translation import gettext_lazy as _

from vestibule.mfa.services import TOTP_DIGITS


class TotpAddForm(forms.Form):
    name = forms.CharField(
        label=_("Name of this app"),
        max_length=64,
        required=False,
        help_text=_("For example, the phone it is on."),
        error_messages={"max_length": _("Keep the name to %(limit_value)d characters.")},
    )
    code = forms.CharField(
        label=_("Code shown by the app"),
        max_length=20,
        error_messages={
            "required": _("Type the code your app shows."),
            "max_length": _("Type the code your app shows."),
        },
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": f"[0-9 ]{{{TOTP_DIGITS},}}",
            }
        ),
    )


class PasswordConfirmForm(forms.Form):
    """The password typed again before a factor is removed."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        error_messages={"required": _("Type your password to confirm.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class FactorsRemoveForm(forms.Form):
    """Staff removing every factor of a member who lost them (the support page)."""

    reason = forms.CharField(
        label=_("Reason and checks made"),
        max_length=500,
        error_messages={
            "required": _("Say how you checked that the request comes from the member."),
            "max_length": _("Keep the reason to %(limit_value)d characters."),
        },
        widget=forms.Textarea(attrs={"rows": 3}),
    )
