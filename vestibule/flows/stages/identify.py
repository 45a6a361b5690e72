"""identify:<how>: who is recovering? By identifier, e-mail, or e-mail or user code (seed 002).

Unknown identifiers go on through the same stages (authentik's pretend_user_exists):
the flow keeps account_id None and later stages send nothing.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.selectors import account_by_identifier
from vestibule.flows.engine import Stage, stage
from vestibule.flows.throttles import recovery_allowed


class IdentifierForm(forms.Form):
    identifier = forms.CharField(label=_("Identifier"), max_length=254)


class EmailForm(forms.Form):
    identifier = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        error_messages={"invalid": _("This e-mail address is invalid. Check it and try again.")},
    )


FORMS = {"identifier": IdentifierForm, "email": EmailForm}


@stage("identify")
class Identify(Stage):
    template = "flows/identify.html"

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        return FORMS.get(self.arg, IdentifierForm)(data)

    def submit(self, form: forms.Form | None) -> None:
        assert form is not None
        typed = form.cleaned_data["identifier"]
        if not recovery_allowed(self.request):
            form.add_error(None, _("Too many requests from your address. Try again later."))
            return
        account = account_by_identifier(typed)
        self.data["account_id"] = account.pk if account and account.is_active else None
        self.data["typed"] = typed.strip()[:254]
