"""sign_up: e-mail (and member code, against the registry) and a password; creates the account."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.forms import NewPasswordForm
from vestibule.accounts.password_policy import password_check
from vestibule.accounts.services import RegistrationRefused, account_register
from vestibule.config import get_profile
from vestibule.flows.engine import Stage, stage
from vestibule.flows.forms import code_field_label
from vestibule.flows.throttles import sign_up_allowed
from vestibule.registry.identifiers import normalise_code


class SignUpForm(NewPasswordForm):
    is_member = forms.BooleanField(required=False)
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        error_messages={"invalid": _("This e-mail address is invalid. Check it and try again.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    code = forms.CharField(
        max_length=32, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    region = forms.ChoiceField(label=_("Region"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.profile = get_profile()
        registration = self.profile.registration
        if registration.member_checkbox:
            self.fields["is_member"].label = str(registration.member_checkbox)
        else:
            del self.fields["is_member"]
        if registration.mode == "registry":
            self.fields["code"].label = code_field_label(self.profile)
        else:
            del self.fields["code"]
        if self.profile.regions:
            self.fields["region"].choices = [("", "—")] + [
                (region.key, str(region.name)) for region in self.profile.regions
            ]
        else:
            del self.fields["region"]
        self.order_fields(["is_member", "region", "email", "code", "password", "password_confirm"])

    def clean_is_member(self) -> bool:
        if not self.cleaned_data["is_member"]:
            raise ValidationError(str(self.profile.registration.non_member_help))
        return True

    def clean_code(self) -> str:
        code = normalise_code(self.cleaned_data["code"])
        kind = self.profile.kind_for_code(code)
        if kind is None or not kind.self_registration:
            examples = ", ".join(
                k.code_example for k in self.profile.coded_kinds if k.self_registration
            )
            raise ValidationError(
                _("This number does not have the expected format (e.g. %(examples)s).")
                % {"examples": examples}
            )
        return code

    def password_check(self, password: str) -> None:
        # Runs after the fields' own cleaning: the typed e-mail and code are context words.
        password_check(
            password,
            email=self.cleaned_data.get("email", ""),
            codes=[self.cleaned_data.get("code", "")],
        )


@stage("sign_up")
class SignUp(Stage):
    template = "flows/sign_up.html"

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        return SignUpForm(data)

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        assert isinstance(form, SignUpForm)
        # Before account_register, which hashes the password on every path.
        if not sign_up_allowed(self.request, form.cleaned_data["email"]):
            form.add_error(
                None,
                _(
                    "Too many sign-ups from your connection or with this e-mail address. "
                    "Try again in an hour."
                ),
            )
            return None
        try:
            registration = account_register(
                email=form.cleaned_data["email"],
                code=form.cleaned_data.get("code", ""),
                region=form.cleaned_data.get("region", ""),
                password=form.cleaned_data["password"],
                language=self.request.LANGUAGE_CODE,
                request=self.request,
            )
        except ValidationError as refused:
            form.add_error("password", refused)
            return None
        except RegistrationRefused:
            form.refused = True
            form.add_error(
                None,
                _(
                    "This e-mail address and this number do not match a member on file, or "
                    "that member already has an account. For help, contact:"
                ),
            )
            return None
        self.data["account_id"] = registration.account.pk if registration.account else None
        self.data["email"] = form.cleaned_data["email"].lower()
        self.data["outcome"] = registration.outcome
        return None
