from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vestibule.config import get_profile
from vestibule.coverage.codes import code_is_well_formed, code_normalise

INVALID_EMAIL = _("This e-mail address is invalid. Check it and try again.")
WRONG_SHAPE = _("An access code has 8 letters and digits, like ABCD-EFGH. Check it and try again.")


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Access code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}
        ),
    )

    def clean_code(self) -> str:
        code = code_normalise(self.cleaned_data["code"])
        if not code_is_well_formed(code):
            raise ValidationError(WRONG_SHAPE)
        return code


class ResendForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address you were invited at"),
        help_text=_("It may be your personal, work or school address."),
        max_length=254,
        error_messages={"invalid": INVALID_EMAIL},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class FamilyInviteForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(
        label=_("E-mail"), max_length=254, error_messages={"invalid": INVALID_EMAIL}
    )


class RegionForm(forms.Form):
    region = forms.ChoiceField(label=_("Region"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [
            (region.key, str(region.name)) for region in get_profile().regions
        ]
