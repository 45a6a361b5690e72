"""security_questions:N: N of the member's questions; wrong answers count toward the lockout."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lockout import account_is_locked, failure_record
from vestibule.accounts.models import Account
from vestibule.accounts.security_questions import questions_draw, security_answers_check
from vestibule.audit.services import event_record
from vestibule.config import get_profile
from vestibule.flows.engine import Stage, stage


@stage("security_questions")
class SecurityQuestions(Stage):
    template = "flows/security_questions.html"

    @property
    def key(self) -> str:
        return f"questions:{self.run.index}"

    def account(self) -> Account | None:
        return Account.objects.filter(pk=self.data.get("account_id")).first()

    def arrive(self) -> None:
        self.data[self.key] = questions_draw(
            account=self.account(),
            profile=get_profile(),
            count=int(self.arg or 2),
            typed=self.data.get("typed", ""),
        )
        self.run.save()

    def get_form(self, data: Any = None, files: Any = None) -> forms.Form:
        if self.key not in self.data:
            self.arrive()
        texts = {question.key: question.text for question in get_profile().security_questions}
        form = forms.Form(data)
        for key in self.data[self.key]:
            form.fields[key] = forms.CharField(label=str(texts.get(key, key)), max_length=200)
        return form

    def submit(self, form: forms.Form | None) -> None:
        assert form is not None
        account = self.account()
        if account is not None and account_is_locked(account):
            form.add_error(None, _("Too many failed attempts: your account is locked."))
            return
        if security_answers_check(account=account, answers=form.cleaned_data):
            event_record("recovery.questions_passed", request=self.request, account=account)
            return
        failure_record(account=account, typed=self.data.get("typed", ""), request=self.request)
        form.add_error(None, _("The answers do not match those you defined."))

    def context(self) -> dict[str, Any]:
        return {"submit_label": _("Submit")}
