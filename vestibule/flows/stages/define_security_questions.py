"""define_security_questions:N: at sign-up, the member picks N questions and answers them."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.forms import DefineQuestionsForm
from vestibule.accounts.models import Account
from vestibule.accounts.security_questions import security_answers_set
from vestibule.flows.engine import Stage, stage


@stage("define_security_questions")
class DefineSecurityQuestions(Stage):
    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        return DefineQuestionsForm(data, count=int(self.arg or 2))

    def context(self) -> dict[str, Any]:
        return {
            "title": _("Choose your security questions"),
            "intro": _(
                "Choose questions and answers you will remember: you will be asked two of "
                "them if you ever need to reset your password. Letter case and accents do "
                "not matter."
            ),
            "submit_label": _("Continue"),
        }

    def submit(self, form: forms.Form | None) -> None:
        assert isinstance(form, DefineQuestionsForm)
        # Only a newly created account takes answers: a sign-up that met an existing
        # account must not change that account's questions.
        if self.data.get("outcome") != "created":
            return
        account = Account.objects.filter(
            pk=self.data.get("account_id"), status=Account.Status.PENDING
        ).first()
        if account is not None:
            security_answers_set(account=account, answers=form.answers(), request=self.request)
