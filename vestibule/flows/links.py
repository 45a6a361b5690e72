"""Links staff and operators send a member: a password reset, the activation e-mail again.

Each resumes the profile's own flow where its link stage would (email_link, activation_link),
so opening it is the member's ordinary path, security questions included where the flow asks
them after the link. Staff never set a password (ASVS 6.4.6): these links are how they help.
"""

from datetime import timedelta

from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lifecycle import AccountActionRefused
from vestibule.accounts.models import Account, Confirmation
from vestibule.accounts.services import activation_lifetime, link_send
from vestibule.audit.services import actor_label, event_record
from vestibule.config import Flow, get_profile


class LinkRefused(AccountActionRefused):
    MESSAGES = {
        **AccountActionRefused.MESSAGES,
        "not_active": _("This account is not active: no password reset link can be sent to it."),
        "not_pending": _("This account is not waiting for activation: there is nothing to resend."),
        "no_flow": _("The profile has no flow that sends this link."),
    }


def _link_index(flow: Flow | None, stage_name: str) -> int:
    """The position of `stage_name` in `flow`, where opening the link resumes it."""
    for index, entry in enumerate(flow.stages if flow else ()):
        if entry.partition(":")[0] == stage_name:
            return index
    raise LinkRefused("no_flow")


def _resume_path(flow_name: str) -> str:
    return reverse("flows:resume", args=[flow_name, "KEY"]).replace("KEY", "{key}")


def _staff_rule(account: Account, actor: Account | None) -> None:
    # As for every staff action: a staff account is helped by a superuser or the operator.
    if (account.is_staff or account.is_superuser) and actor is not None and not actor.is_superuser:
        raise LinkRefused("staff_needs_superuser")


def _by(actor: Account | None) -> str:
    return actor_label(actor)


@transaction.atomic
def reset_link_send(
    *, account: Account, actor: Account | None, request: HttpRequest | None = None
) -> None:
    """E-mail `account` a password-reset link; refused ("not_active") unless it is active."""
    _staff_rule(account, actor)
    if account.status != Account.Status.ACTIVE:
        raise LinkRefused("not_active")
    flow = get_profile().flows.get("recovery")
    index = _link_index(flow, "email_link")
    assert flow is not None
    link_send(
        account=account,
        purpose=Confirmation.Purpose.RECOVERY,
        template="password_reset",
        path=_resume_path("recovery"),
        lifetime=timedelta(hours=flow.link_lifetime_hours),
        # What the stages before the link would have left: whose account, as typed.
        payload={"index": index, "data": {"account_id": account.pk, "typed": account.email}},
    )
    event_record("recovery.link_sent", request=request, account=account, by=_by(actor))


@transaction.atomic
def activation_link_resend(
    *, account: Account, actor: Account | None, request: HttpRequest | None = None
) -> None:
    """E-mail a pending `account` its activation link again; refused ("not_pending") else."""
    _staff_rule(account, actor)
    if account.status != Account.Status.PENDING:
        raise LinkRefused("not_pending")
    profile = get_profile()
    index = _link_index(profile.flows.get("registration"), "activation_link")
    link_send(
        account=account,
        purpose=Confirmation.Purpose.ACTIVATION,
        template="activation",
        path=_resume_path("registration"),
        lifetime=activation_lifetime(profile),
        payload={"index": index, "data": {"account_id": account.pk, "email": account.email}},
    )
    event_record("activation.sent", request=request, account=account, by=_by(actor))
