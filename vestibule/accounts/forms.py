from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.models import Account
from vestibule.accounts.password_policy import password_check_for, password_help_text
from vestibule.config import get_profile, identifier_word_lazy


class SignInForm(forms.Form):
    identifier = forms.CharField(
        label=identifier_word_lazy(),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class NewPasswordForm(forms.Form):
    """A new password typed twice; the policy's reasons shown on the field.

    The service that sets the password applies the policy (password_policy); the form asks
    it too, with what it knows (`account`, when known), to show every error at once.
    """

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Confirm your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, account: Account | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["password"].help_text = password_help_text()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password:
            try:
                self.password_check(password)
            except ValidationError as error:
                self.add_error("password", error)
        if password and confirm is not None and password != confirm:
            self.add_error("password_confirm", _("The passwords must be identical."))
        return cleaned

    def password_check(self, password: str) -> None:
        password_check_for(password, self.account)


class PasswordChangeForm(NewPasswordForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].label = _("New password")
        self.fields["password_confirm"].label = _("Confirm the new password")
        self.order_fields(["current_password", "password", "password_confirm"])


class DefineQuestionsForm(forms.Form):
    def __init__(self, *args: Any, count: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—")] + [(q.key, str(q.text)) for q in get_profile().security_questions]
        self.count = count
        for n in range(1, count + 1):
            self.fields[f"question_{n}"] = forms.ChoiceField(
                label=_("Question %(n)d") % {"n": n}, choices=choices
            )
            self.fields[f"answer_{n}"] = forms.CharField(
                label=_("Answer %(n)d") % {"n": n}, min_length=2, max_length=200
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        chosen = [cleaned.get(f"question_{n}") for n in range(1, self.count + 1)]
        seen: set[str] = set()
        for n, key in enumerate(chosen, start=1):
            if key and key in seen:
                self.add_error(f"question_{n}", ValidationError(_("Choose a different question.")))
            seen.add(key or "")
        return cleaned

    def answers(self) -> dict[str, str]:
        return {
            self.cleaned_data[f"question_{n}"]: self.cleaned_data[f"answer_{n}"]
            for n in range(1, self.count + 1)
        }


class SecurityQuestionsChangeForm(DefineQuestionsForm):
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class IdentifierReminderForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        error_messages={"invalid": _("This e-mail address is invalid. Check it and try again.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class EmailChangeForm(forms.Form):
    """« Adresse e-mail de connexion »: the new address, and the password typed again."""

    new_email = forms.EmailField(
        label=_("New e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"invalid": _("This e-mail address is invalid. Check it and try again.")},
    )
    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
