from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.forms import NewPasswordForm
from vestibule.config import get_profile


class RightsForm(forms.Form):
    """Tick the rights; keys outside the profile's list are refused by the choice field."""

    rights = forms.MultipleChoiceField(
        label=_("Access rights"), widget=forms.CheckboxSelectMultiple, required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rights"].choices = [
            (right.key, str(right.label)) for right in get_profile().access_rights
        ]


class NewUserForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        error_messages={"invalid": _("This e-mail address is invalid. Check it and try again.")},
    )


class NewUserRightsForm(NewUserForm, RightsForm):
    pass


class ExistingUserForm(forms.Form):
    identifier = forms.CharField(label=_("Identifier"), max_length=254)
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        error_messages={"invalid": _("This e-mail address is invalid. Check it and try again.")},
    )


class ExistingUserRightsForm(ExistingUserForm, RightsForm):
    pass


class InvitationPasswordForm(NewPasswordForm):
    """The invited new user chooses a password (the profile's policy applies)."""


class SwitchForm(forms.Form):
    establishment = forms.IntegerField()


def rights_required(form: RightsForm) -> None:
    if not form.cleaned_data.get("rights"):
        form.add_error("rights", ValidationError(_("Select at least one access right.")))
