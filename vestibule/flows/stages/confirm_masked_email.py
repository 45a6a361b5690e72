"""confirm_masked_email: « Le courriel ci-dessous est-il valide et fonctionnel ? » (seed 002),
or, with `:button`, seed 001's « Oui, créer mon mot de passe »."""

from typing import Any

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.models import Account
from vestibule.flows.engine import Stage, stage

# For an unknown identifier, a made-up but stable address of a common provider.
PLAUSIBLE_DOMAINS = ("gmail.com", "outlook.com", "hotmail.com", "yahoo.ca", "videotron.ca")
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def email_mask(email: str) -> str:
    """5*****4@50143904.com: the first and last characters of the local part, five stars."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}*****{local[-1:] if len(local) > 1 else ''}@{domain}"


def email_made_up(typed: str) -> str:
    # Keyed, with a salt of its own: SECRET_KEY is never used raw, nor for two purposes.
    digest = salted_hmac("vestibule.flows.confirm_masked_email.made_up", typed.lower()).digest()
    if "@" in typed:
        return typed.strip().lower()
    first, last = ALPHABET[digest[0] % 36], ALPHABET[digest[1] % 36]
    return f"{first}xxxxxx{last}@{PLAUSIBLE_DOMAINS[digest[2] % len(PLAUSIBLE_DOMAINS)]}"


class ConfirmForm(forms.Form):
    valid = forms.TypedChoiceField(
        label=_("Is the e-mail address below valid and working?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        widget=forms.RadioSelect,
    )


@stage("confirm_masked_email")
class ConfirmMaskedEmail(Stage):
    template = "flows/confirm_masked_email.html"

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        return forms.Form(data) if self.arg == "button" else ConfirmForm(data)

    def context(self) -> dict[str, Any]:
        account = Account.objects.filter(pk=self.data.get("account_id")).first()
        email = account.email if account else email_made_up(self.data.get("typed", ""))
        return {"masked_email": email_mask(email), "button": self.arg == "button"}

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        if form is not None and form.cleaned_data.get("valid") == "no":
            self.run.end()
            return render(self.request, "flows/contact_support.html")
        return None
