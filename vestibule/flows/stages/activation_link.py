"""activation_link: e-mails the « Activer » link; opening it activates and signs in.

An account signed up for more than once (account_register) is not activated on opening:
whoever opened the link, the mailbox owner, first chooses its password here, and the
security questions when the flow defined some at sign-up.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from vestibule.accounts.factors import needs_second_factor
from vestibule.accounts.forms import DefineQuestionsForm, NewPasswordForm
from vestibule.accounts.models import Account, Confirmation
from vestibule.accounts.services import (
    PasswordRequired,
    account_activate,
    account_existing_notify,
    activation_send,
)
from vestibule.accounts.sessions import account_sign_in, sign_in_hand_off
from vestibule.flows.engine import Stage, stage
from vestibule.flows.throttles import link_allowed


class ActivationPasswordForm(NewPasswordForm, DefineQuestionsForm):
    """The password (and `count` security questions) chosen when the link is opened."""


@stage("activation_link")
class ActivationLink(Stage):
    link_purpose = Confirmation.Purpose.ACTIVATION

    @property
    def choosing_password(self) -> bool:
        return bool(self.data.get("choose_password"))

    @property
    def template(self) -> str:  # type: ignore[override]
        return "flows/stage.html" if self.choosing_password else "flows/activation_link.html"

    @property
    def accepts_post(self) -> bool:  # type: ignore[override]
        # Waiting for the link takes no answer; the password chosen after opening it does.
        return self.choosing_password

    def account(self) -> Account | None:
        return Account.objects.filter(
            pk=self.data.get("account_id"), status=Account.Status.PENDING
        ).first()

    def arrive(self) -> None:
        # A new or pending account gets a link, the owner of an active one an e-mail saying
        # so; this page reads the same either way, also when the recipient's allowance of
        # e-mails is spent and nothing is sent.
        outcome = self.data.get("outcome")
        if outcome == "existing":
            account = Account.objects.filter(pk=self.data.get("account_id")).first()
            if account is not None and link_allowed(account.email):
                account_existing_notify(account=account)
            return
        if outcome not in {"created", "pending"}:
            return
        account = self.account()
        if account is not None and link_allowed(account.email):
            activation_send(
                account=account,
                flow_path=reverse("flows:resume", args=[self.run.name, "KEY"]).replace(
                    "KEY", "{key}"
                ),
                payload=self.run.payload(),
            )

    def questions_count(self) -> int:
        """How many security questions this flow has members define at sign-up (0: none)."""
        for entry in self.run.stage_names:
            name, _sep, arg = entry.partition(":")
            if name == "define_security_questions":
                return int(arg or 2)
        return 0

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form | None:
        if not self.choosing_password:
            return None
        form = ActivationPasswordForm(data, account=self.account(), count=self.questions_count())
        form.order_fields(["password", "password_confirm"])
        return form

    def context(self) -> dict[str, Any]:
        if not self.choosing_password:
            return {"email": self.data.get("email", "")}
        return {
            "title": _("Choose your password"),
            "intro": _(
                "This address was used more than once to ask for an account, perhaps not "
                "always by you. To activate your account, choose its password now: only "
                "the password you choose here will open it."
            ),
            "submit_label": _("Activate my account"),
        }

    def resume(self, payload: dict[str, Any]) -> HttpResponse | None:
        account = Account.objects.filter(pk=payload["data"].get("account_id")).first()
        if account is None:
            return None
        try:
            account_activate(account=account, request=self.request)
        except PasswordRequired:
            self.data["choose_password"] = True
            self.run.save()
            return HttpResponseRedirect(reverse("flows:flow", args=[self.run.name]))
        return self._signed_in(account)

    def submit(self, form: forms.Form | None) -> HttpResponse | None:
        assert isinstance(form, ActivationPasswordForm)
        account = self.account()
        if account is None:  # activated, disabled or purged meanwhile
            self.run.end()
            return HttpResponseRedirect(reverse("accounts:login"))
        try:
            account_activate(
                account=account,
                password=form.cleaned_data["password"],
                security_answers=form.answers(),
                request=self.request,
            )
        except ValidationError as refused:
            form.add_error("password", refused)
            return None
        return self._signed_in(account)

    def _signed_in(self, account: Account) -> HttpResponse:
        account.refresh_from_db(fields=["status"])
        self.run.end()
        if account.status != Account.Status.ACTIVE:  # disabled by staff meanwhile
            return HttpResponseRedirect(reverse("accounts:login"))
        if needs_second_factor(account):
            # A dentist's practice, say, requires a factor: enrolled before anything else.
            sign_in_hand_off(self.request, account, next_url=reverse("web:home"), methods=["pwd"])
            return HttpResponseRedirect(reverse("flows:flow", args=["sign_in"]))
        account_sign_in(self.request, account)
        # The link may open in a browser without our language cookie: speak the account's.
        with translation.override(account.language):
            messages.success(
                self.request,
                _("Your account has been created. You now have access to the members' portal."),
            )
        return HttpResponseRedirect(reverse("web:home"))
