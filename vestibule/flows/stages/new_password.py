"""new_password: the new password twice; only reachable after the e-mailed link was opened."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.forms import NewPasswordForm
from vestibule.accounts.models import Account
from vestibule.accounts.services import account_password_store, link_spend, password_prepare
from vestibule.flows.engine import Stage, stage


@stage("new_password")
class NewPassword(Stage):
    def account(self) -> Account | None:
        if not self.data.get("link_verified"):
            return None
        return Account.objects.filter(pk=self.data.get("account_id")).first()

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        form = NewPasswordForm(data, account=self.account())
        form.fields["password"].label = _("New password")
        form.fields["password_confirm"].label = _("Confirm the new password")
        return form

    def context(self) -> dict[str, Any]:
        # Seed 002's wording: « Réinitialisation du mot de passe », « Soumettre ».
        return {"title": _("Password reset"), "submit_label": _("Submit")}

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        account = self.account()
        if account is None:  # unreachable by construction; refuse rather than trust
            form.add_error(None, _("This request is no longer valid. Start again."))
            return None
        try:
            # Hashed before the transaction: no lock is held for Argon2id's time.
            encoded = password_prepare(form.cleaned_data["password"], account)
            with transaction.atomic():
                # The link is spent here: of two browsers that opened it, the first to save
                # wins.
                if not link_spend(self.data.get("link_id"), account=account):
                    form.add_error(
                        None,
                        _("This link has already been used or has expired. Ask for a new one."),
                    )
                    return None
                account_password_store(
                    account=account,
                    encoded=encoded,
                    event="password.reset",
                    request=self.request,
                )
        except ValidationError as refused:  # the policy: nothing saved, the link not spent
            form.add_error("password", refused)
        return None
