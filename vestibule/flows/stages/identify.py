"""identify:<how>: who is recovering? By identifier, e-mail, or e-mail or user code (seed 002).

Unknown identifiers go on through the same stages (authentik's pretend_user_exists):
the flow keeps account_id None and later stages send nothing.
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.selectors import account_by_identifier
from vestibule.config import get_profile, identifier_word_lazy
from vestibule.flows.engine import Stage, stage
from vestibule.flows.throttles import recovery_allowed
from vestibule.registry.identifiers import normalise_code

INVALID_EMAIL = _("This e-mail address is invalid. Check it and try again.")


class IdentifierForm(forms.Form):
    identifier = forms.CharField(
        label=identifier_word_lazy(),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )

    def typed(self) -> str:
        return self.cleaned_data["identifier"]


class EmailForm(forms.Form):
    identifier = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        error_messages={"invalid": INVALID_EMAIL},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def typed(self) -> str:
        return self.cleaned_data["identifier"]


class EmailOrCodeForm(forms.Form):
    """Seed 002: « Adresse courriel » OU « Code d'utilisateur »."""

    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        required=False,
        error_messages={"invalid": INVALID_EMAIL},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    code = forms.CharField(
        label=_("User code"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        if code and get_profile().kind_for_code(code) is None:
            raise ValidationError(_("This code has none of the formats listed above."))
        return code

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors and not cleaned.get("email") and not cleaned.get("code"):
            raise ValidationError(_("Enter your e-mail address or your user code."))
        return cleaned

    def typed(self) -> str:
        return self.cleaned_data["email"] or self.cleaned_data["code"]


FORMS = {"identifier": IdentifierForm, "email": EmailForm, "email_or_code": EmailOrCodeForm}


@stage("identify")
class Identify(Stage):
    template = "flows/identify.html"

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        return FORMS.get(self.arg, IdentifierForm)(data)

    def context(self) -> dict[str, Any]:
        return {"coded_kinds": get_profile().coded_kinds if self.arg == "email_or_code" else ()}

    def submit(self, form: forms.Form | None) -> None:
        assert form is not None
        if not recovery_allowed(self.request):
            form.add_error(None, _("Too many requests from your address. Try again later."))
            return
        typed = form.typed()
        account = account_by_identifier(typed)
        self.data["account_id"] = account.pk if account and account.is_active else None
        self.data["typed"] = typed.strip()[:254]
