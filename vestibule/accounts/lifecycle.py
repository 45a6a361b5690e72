"""An account's life after sign-up, run by staff, operators and rules: disable, enable,
delete, and what the registry and establishments change by themselves.

Every action is a service function with its audit event naming the actor (a staff
account, or "operator" for the command line); the admin console, `vestibule account` and
the members' own pages call the same functions.
"""

import secrets
from datetime import datetime, timedelta

from django.apps import apps
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.models import Account
from vestibule.accounts.sessions import sessions_end_everywhere
from vestibule.audit.services import actor_label, event_record, events_pseudonymise
from vestibule.config import get_profile
from vestibule.registry.identifiers import code_is_ascii, normalise_code
from vestibule.registry.models import Member
from vestibule.tokens.models import Token
from vestibule.tokens.services import tokens_revoke


class AccountActionRefused(Exception):
    """An action the rules refuse; `code` says which rule, `message` says it to a person."""

    MESSAGES = {
        "unknown": _("No account has this e-mail, licence or user code."),
        "reason_required": _("Give the reason for disabling this account."),
        "staff_needs_superuser": _(
            "Only a superuser can do this to a staff account or a superuser."
        ),
        "self": _("You cannot do this to your own account."),
        "last_superuser": _("This is the last active superuser: it must stay."),
        "registry_inactive": _(
            "The registry lists this member as inactive: the account is enabled again when "
            "the registry says the member is active."
        ),
        "last_administrator": _(
            "This account is the last administrator of an establishment: give another user "
            "the right to manage users first."
        ),
    }

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(self.MESSAGES.get(self.code, self.code))


def _by(actor: Account | None) -> str:
    return actor_label(actor)


def account_find(identifier: str) -> Account:
    """The account named by an e-mail (any case), a member code (licence), the account's
    own code, or "#<id>"; AccountActionRefused("unknown") when none is."""
    raw = (identifier or "").strip()
    account = None
    if raw.startswith("#") and raw[1:].isdigit():
        account = Account.objects.filter(pk=int(raw[1:])).first()
    elif "@" in raw:
        account = Account.objects.by_email(raw).first()
    elif raw:
        code = normalise_code(raw)
        if code_is_ascii(code):
            account = (
                Account.objects.filter(code=code).first()
                or Account.objects.filter(member__code=code).first()
            )
    if account is None:
        raise AccountActionRefused("unknown")
    return account


def _superusers_left(account: Account) -> bool:
    """Another active superuser than `account` exists; their rows are locked meanwhile, so
    two superusers disabling each other at once are served in turn."""
    others = (
        Account.objects.select_for_update()
        .filter(is_superuser=True, status=Account.Status.ACTIVE)
        .exclude(pk=account.pk)
    )
    return bool(list(others.values_list("pk", flat=True)))


def _staff_rules(account: Account, actor: Account | None) -> None:
    """The rules of every staff action on an account: never one's own, a staff target only
    for a superuser (or the operator), never the last active superuser."""
    if actor is not None and actor.pk == account.pk:
        raise AccountActionRefused("self")
    if (account.is_staff or account.is_superuser) and actor is not None and not actor.is_superuser:
        raise AccountActionRefused("staff_needs_superuser")
    if account.is_superuser and account.is_active and not _superusers_left(account):
        raise AccountActionRefused("last_superuser")


def account_sessions_end(
    *, account: Account, actor: Account | None, request: HttpRequest | None = None
) -> None:
    """Staff or the operator end every session of `account` (and its sections'). A staff
    account's sessions are ended only by a superuser: else a support agent could sign a
    superuser out at will. Staff ending their own use the member's « Se déconnecter partout »."""
    staff_target = account.is_staff or account.is_superuser
    if staff_target and actor is not None and actor.pk != account.pk and not actor.is_superuser:
        raise AccountActionRefused("staff_needs_superuser")
    sessions_end_everywhere(account=account, actor=actor, request=request)


@transaction.atomic
def account_disable(
    *,
    account: Account,
    reason: str,
    actor: Account | None,
    cause: str = Account.DisabledCause.STAFF,
    request: HttpRequest | None = None,
) -> bool:
    """Disable `account`: it can no longer sign in, its sessions end (the sections are told
    by back-channel logout) and its pending links and codes stop working. False when it was
    disabled already (nothing changes, nothing is audited).

    The staff rules apply to staff's own decision (cause STAFF); the registry's and the
    establishments' rules act for whoever triggered them (`actor` names them in the log).
    """
    reason = (reason or "").strip()
    if cause == Account.DisabledCause.STAFF:
        if not reason:
            raise AccountActionRefused("reason_required")
        _staff_rules(account, actor)
    elif account.is_superuser and account.is_active and not _superusers_left(account):
        # A rule (the registry, an establishment) never locks the organisation out either.
        raise AccountActionRefused("last_superuser")
    now = timezone.now()
    # One conditional UPDATE: of two disables at once, one changes the row and audits.
    changed = (
        Account.objects.filter(pk=account.pk)
        .exclude(status=Account.Status.DISABLED)
        .update(
            status=Account.Status.DISABLED,
            disabled_at=now,
            disabled_reason=reason[:500],
            disabled_cause=cause,
        )
    )
    account.refresh_from_db(fields=["status", "disabled_at", "disabled_reason", "disabled_cause"])
    if not changed:
        return False
    tokens_revoke(Token.objects.filter(account=account), now=now)
    sessions_end_everywhere(account=account, actor=actor, request=request)
    event_record(
        "account.disabled",
        request=request,
        account=account,
        by=_by(actor),
        reason=reason,
        cause=str(cause),
    )
    return True


@transaction.atomic
def account_enable(
    *, account: Account, actor: Account | None, request: HttpRequest | None = None
) -> bool:
    """Enable a disabled account again: active, or pending when it was never activated.
    Refused while its registry record is inactive; False when it was not disabled."""
    if actor is not None and actor.pk == account.pk:
        raise AccountActionRefused("self")
    if (account.is_staff or account.is_superuser) and actor is not None and not actor.is_superuser:
        raise AccountActionRefused("staff_needs_superuser")
    member = Member.objects.filter(account__pk=account.pk).first()
    if member is not None and not member.active:
        raise AccountActionRefused("registry_inactive")
    cause = account.disabled_cause
    status = Account.Status.ACTIVE if account.activated_at else Account.Status.PENDING
    changed = Account.objects.filter(pk=account.pk, status=Account.Status.DISABLED).update(
        status=status, disabled_at=None, disabled_reason="", disabled_cause=""
    )
    account.refresh_from_db(fields=["status", "disabled_at", "disabled_reason", "disabled_cause"])
    if not changed:
        return False
    event_record(
        "account.enabled", request=request, account=account, by=_by(actor), cause=str(cause)
    )
    return True


def _last_administrator_of(account: Account) -> bool:
    """The account is the only administrator of one of its establishments.

    Establishments sit above accounts, so their model is reached through the app registry;
    the rule is theirs (an establishment always keeps an administrator).
    """
    membership_model = apps.get_model("establishments", "Membership")
    admin_rights = {right.key for right in get_profile().access_rights if right.administers}
    if not admin_rights:
        return False
    mine = [
        m.establishment_id
        for m in membership_model.objects.filter(account=account)
        if admin_rights & set(m.rights)
    ]
    for establishment_id in mine:
        others = membership_model.objects.select_for_update().filter(
            establishment_id=establishment_id
        )
        administrators = [m for m in others if admin_rights & set(m.rights)]
        if len(administrators) <= 1:
            return True
    return False


def pseudonym_new() -> str:
    return f"deleted-{secrets.token_hex(6)}"


@transaction.atomic
def account_delete(
    *,
    account: Account,
    actor: Account | None,
    reason: str = "",
    request: HttpRequest | None = None,
) -> str:
    """Delete `account` for good and return the pseudonym its audit events now carry.

    Its sessions end first (the sections are told), then the account goes with its tokens,
    memberships, session records, security answers and OIDC grants; the registry record,
    which is the organisation's, stays. Refused, with nothing changed, for the last
    administrator of an establishment and by the staff rules.
    """
    _staff_rules(account, actor)
    if _last_administrator_of(account):
        raise AccountActionRefused("last_administrator")
    sessions_end_everywhere(account=account, actor=actor, request=request)
    pseudonym = pseudonym_new()
    events_pseudonymise(account=account, pseudonym=pseudonym)
    account_pk = account.pk
    Account.objects.filter(pk=account_pk).delete()
    event_record(
        "account.deleted", request=request, subject=pseudonym, by=_by(actor), reason=reason
    )
    return pseudonym


def delegates_purge(*, now: datetime | None = None) -> int:
    """Delete the delegated accounts disabled for leaving their last establishment longer
    than the profile's delay ago (a scheduled job); how many were deleted."""
    days = get_profile().accounts.delegate_deletion_days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    due = Account.objects.filter(
        status=Account.Status.DISABLED,
        disabled_cause=Account.DisabledCause.MEMBERSHIP,
        disabled_at__lt=cutoff,
    )
    deleted = 0
    for pk in list(due.order_by("pk").values_list("pk", flat=True)):
        with transaction.atomic():
            # Read again under a lock: an invitation accepted meanwhile enabled it again.
            account = due.select_for_update().filter(pk=pk).first()
            if account is None:
                continue
            try:
                account_delete(account=account, actor=None, reason="no establishment left")
            except AccountActionRefused:
                continue
        deleted += 1
    return deleted
