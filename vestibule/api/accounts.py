"""/api/v1/accounts: look up an account, and the support actions the admin console and
`vestibule account` offer, through the same service functions (accounts.lifecycle,
flows.links). The client is the actor: every event they record says "api:<client id>".
"""

from collections.abc import Callable
from datetime import datetime

from django.http import HttpRequest
from django.utils import translation
from ninja import Router
from pydantic import Field

from vestibule.accounts.lifecycle import (
    AccountActionRefused,
    account_disable,
    account_enable,
    account_find,
    account_sessions_end,
)
from vestibule.accounts.lockout import account_is_locked
from vestibule.accounts.models import Account
from vestibule.api.auth import scoped
from vestibule.api.problems import Problem, ProblemSchema, StrictSchema
from vestibule.audit.models import Event
from vestibule.flows.links import activation_link_resend, reset_link_send

router = Router(tags=["accounts"])

# A refusal of the rules (AccountActionRefused.code) -> the answer's status.
REFUSAL_STATUS = {"unknown": 404, "reason_required": 422, "no_flow": 409}
IDENTIFIER = "An e-mail address, a licence (member code) or the account's own code."


class MembershipOut(StrictSchema):
    establishment: str
    establishment_id: str
    rights: list[str]
    owner: bool


class AccountOut(StrictSchema):
    email: str
    code: str | None
    member_code: str | None
    kind: str
    status: str = Field(description="pending (not activated), active, or disabled")
    activated: bool
    activated_at: datetime | None
    locked: bool
    disabled_at: datetime | None
    disabled_reason: str
    last_sign_in_at: datetime | None
    memberships: list[MembershipOut]


class ActionOut(StrictSchema):
    changed: bool = Field(description="false when the account was already in that state")
    account: AccountOut


class DisableIn(StrictSchema):
    reason: str = Field(min_length=1, max_length=500, description="Why (kept in the audit log).")


def _account_out(account: Account) -> AccountOut:
    last = (
        Event.objects.filter(account=account, kind="sign_in.succeeded")
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    memberships = account.memberships.select_related("establishment").order_by(
        "establishment__name", "pk"
    )
    return AccountOut(
        email=account.email,
        code=account.code,
        member_code=account.member.code if account.member_id else None,
        kind=account.kind,
        status=account.status,
        activated=account.activated_at is not None,
        activated_at=account.activated_at,
        locked=account_is_locked(account),
        disabled_at=account.disabled_at,
        disabled_reason=account.disabled_reason,
        last_sign_in_at=last,
        memberships=[
            MembershipOut(
                establishment=membership.establishment.name,
                establishment_id=membership.establishment.public_id,
                rights=list(membership.rights),
                owner=membership.is_owner,
            )
            for membership in memberships
        ],
    )


def _refusal(refused: AccountActionRefused) -> Problem:
    """A rule's refusal as a problem of type .../<code> (e.g. .../last_superuser)."""
    with translation.override("en"):
        message = refused.message
    return Problem(
        refused.code.replace("_", "-"),
        message,
        status=REFUSAL_STATUS.get(refused.code, 409),
        title=message,
    )


def _account(identifier: str) -> Account:
    try:
        return account_find(identifier)
    except AccountActionRefused as refused:
        raise _refusal(refused) from None


def _target(identifier: str) -> Account:
    """The account a write acts on. The services treat a call without a staff actor as the
    server's operator, who may act on staff accounts: an API client may not."""
    account = _account(identifier)
    if account.is_staff or account.is_superuser:
        raise Problem(
            "staff-account",
            "Staff accounts are managed in the admin console, not through the API.",
            status=403,
            title="Staff accounts are not managed through the API.",
        )
    return account


WRITE_RESPONSES = {200: ActionOut, 403: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema}


def _act(identifier: str, action: Callable[[Account], bool | None]) -> ActionOut:
    """Run a lifecycle service on the account `identifier` names; a refusal is a problem.
    `action` returns whether it changed anything (None: it always acts)."""
    account = _target(identifier)
    try:
        changed = action(account)
    except AccountActionRefused as refused:
        raise _refusal(refused) from None
    return ActionOut(changed=changed is not False, account=_account_out(account))


@router.get(
    "/{identifier}",
    response={200: AccountOut, 404: ProblemSchema},
    auth=scoped("accounts:read"),
    summary="Look up an account",
    description=IDENTIFIER,
)
def account_read(request: HttpRequest, identifier: str) -> AccountOut:
    return _account_out(_account(identifier))


@router.post(
    "/{identifier}/disable",
    response=WRITE_RESPONSES,
    auth=scoped("accounts:write"),
    summary="Disable an account",
    description="It can no longer sign in; its sessions end and its pending links stop working.",
)
def account_disable_op(request: HttpRequest, identifier: str, payload: DisableIn) -> ActionOut:
    return _act(
        identifier,
        lambda account: account_disable(
            account=account, reason=payload.reason, actor=None, request=request
        ),
    )


@router.post(
    "/{identifier}/enable",
    response=WRITE_RESPONSES,
    auth=scoped("accounts:write"),
    summary="Enable a disabled account",
    description="Refused while the registry lists the member as inactive.",
)
def account_enable_op(request: HttpRequest, identifier: str) -> ActionOut:
    return _act(
        identifier, lambda account: account_enable(account=account, actor=None, request=request)
    )


@router.post(
    "/{identifier}/send-reset",
    response=WRITE_RESPONSES,
    auth=scoped("accounts:write"),
    summary="E-mail a password-reset link",
    description="Only to an active account.",
)
def account_send_reset(request: HttpRequest, identifier: str) -> ActionOut:
    return _act(
        identifier, lambda account: reset_link_send(account=account, actor=None, request=request)
    )


@router.post(
    "/{identifier}/resend-activation",
    response=WRITE_RESPONSES,
    auth=scoped("accounts:write"),
    summary="E-mail the activation link again",
    description="Only to an account waiting for activation.",
)
def account_resend_activation(request: HttpRequest, identifier: str) -> ActionOut:
    return _act(
        identifier,
        lambda account: activation_link_resend(account=account, actor=None, request=request),
    )


@router.post(
    "/{identifier}/end-sessions",
    response=WRITE_RESPONSES,
    auth=scoped("accounts:write"),
    summary="End every session of an account",
    description="In every browser; the members' sections are told (back-channel logout).",
)
def account_end_sessions(request: HttpRequest, identifier: str) -> ActionOut:
    return _act(
        identifier,
        lambda account: account_sessions_end(account=account, actor=None, request=request),
    )
