"""security_questions:N: N of the member's questions; wrong answers count toward the lockout.

The lock itself does not close this stage (a reset is what unlocks a locked account); the
answers have their own cap, the same for known and unknown identifiers.
"""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lockout import answers_begin, answers_failed, answers_passed
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
            # Seed 002 asks twice; each ask has its own draw, stable like the other.
            position=self.run.index,
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
        typed = self.data.get("typed", "")
        too_many = _("Too many wrong answers. Try again tomorrow or contact support.")
        reserved = answers_begin(account=account, typed=typed)
        if reserved is None:
            form.add_error(None, too_many)
            return
        if security_answers_check(account=account, answers=form.cleaned_data):
            answers_passed(reserved)
            event_record("recovery.questions_passed", request=self.request, account=account)
            return
        if answers_failed(reserved, account=account, typed=typed, request=self.request):
            form.add_error(None, too_many)
        else:
            form.add_error(None, _("The answers do not match those you defined."))

    def context(self) -> dict[str, Any]:
        return {"submit_label": _("Submit")}
