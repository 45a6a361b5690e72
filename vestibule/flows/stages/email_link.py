"""email_link: e-mails a password-reset link; opening it, in any browser, resumes the flow."""

import functools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse

from vestibule.accounts.models import Account, Confirmation
from vestibule.accounts.services import link_send
from vestibule.audit.services import event_record
from vestibule.flows.engine import FlowRun, Stage, stage
from vestibule.flows.throttles import link_allowed, reset_wait
from vestibule.notifications.after_response import after_response


@stage("email_link")
class EmailLink(Stage):
    template = "flows/email_link.html"
    link_purpose = Confirmation.Purpose.RECOVERY
    # Spent by new_password when the password is saved, not by whoever opens it first.
    link_spent_on_open = False
    accepts_post = False

    def lifetime_hours(self) -> int:
        """The profile's `link_lifetime_hours` of this flow (1 by default)."""
        flow = FlowRun.definition(self.run.name)
        return flow.link_lifetime_hours if flow else 1

    def context(self) -> dict[str, Any]:
        retry = self.data.get("retry_at")
        retry_at = datetime.fromtimestamp(retry, tz=UTC) if retry else None
        return {"lifetime_hours": self.lifetime_hours(), "retry_at": retry_at}

    def arrive(self) -> None:
        typed = str(self.data.get("typed", ""))
        wait = reset_wait(typed) if typed else 0
        if wait:
            # Not sent, and the page says so: the same for a known and an unknown identifier.
            self.data["retry_at"] = time.time() + wait
            return
        # After the response, for a known and an unknown identifier alike: the page takes
        # as long whether or not there is a link to write and an e-mail to render.
        job = functools.partial(
            self.send_link, account_id=self.data.get("account_id"), payload=self.run.payload()
        )
        after_response(self.request, job)

    @transaction.atomic
    def send_link(self, *, account_id: int | None, payload: dict[str, Any]) -> None:
        account = Account.objects.filter(pk=account_id).first()
        if account is None or not account.is_active or not link_allowed(account.email):
            # Nothing is sent, and nothing on the page says so.
            return
        path = reverse("flows:resume", args=[self.run.name, "KEY"]).replace("KEY", "{key}")
        link_send(
            account=account,
            purpose=Confirmation.Purpose.RECOVERY,
            template="password_reset",
            path=path,
            lifetime=timedelta(hours=self.lifetime_hours()),
            payload=payload,
        )
        event_record("recovery.link_sent", request=self.request, account=account)

    def resume(self, payload: dict[str, Any]) -> HttpResponse | None:
        self.data["link_verified"] = True
        return None
