"""The staff console's forms for an account's actions: what staff type, nothing more.

The rules (who may be disabled, which address is free) are the services'; these forms
only say what is missing or malformed.
"""

from django import forms
from django.utils.translation import gettext_lazy as _


class DisableForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("Kept in the audit log and shown on this page."),
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label=_("New e-mail"),
        max_length=254,
        help_text=_("A link is sent to this address; it becomes the login when it is opened."),
    )


class DeleteForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
