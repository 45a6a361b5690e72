"""activation_link: e-mails the « Activer » link; opening it activates and signs in."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from vestibule.accounts.models import Account, Confirmation
from vestibule.accounts.services import account_activate, activation_send
from vestibule.accounts.sessions import account_sign_in
from vestibule.flows.engine import Stage, stage


@stage("activation_link")
class ActivationLink(Stage):
    template = "flows/activation_link.html"
    link_purpose = Confirmation.Purpose.ACTIVATION
    accepts_post = False

    def arrive(self) -> None:
        # Only a new or still pending account gets a link; the owner of an active one was
        # told by e-mail instead, and this page reads the same either way.
        if self.data.get("outcome") not in {"created", "pending"}:
            return
        account = Account.objects.filter(
            pk=self.data.get("account_id"), status=Account.Status.PENDING
        ).first()
        if account is not None:
            activation_send(
                account=account,
                flow_path=reverse("flows:resume", args=[self.run.name, "KEY"]).replace(
                    "KEY", "{key}"
                ),
                payload=self.run.payload(),
            )

    def context(self) -> dict[str, Any]:
        return {"email": self.data.get("email", "")}

    def resume(self, payload: dict[str, Any]) -> HttpResponse | None:
        account = Account.objects.filter(pk=payload["data"].get("account_id")).first()
        if account is None:
            return None
        account_activate(account=account, request=self.request)
        account.refresh_from_db(fields=["status"])
        self.run.end()
        if account.status != Account.Status.ACTIVE:  # disabled by staff meanwhile
            return HttpResponseRedirect(reverse("accounts:login"))
        account_sign_in(self.request, account)
        # The link may open in a browser without our language cookie: speak the account's.
        with translation.override(account.language):
            messages.success(
                self.request,
                _("Your account has been created. You now have access to the members' portal."),
            )
        return HttpResponseRedirect(reverse("web:home"))
