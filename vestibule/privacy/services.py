"""A member's own data (Quebec's Law 25 s. 27, GDPR art. 15, 17, 20): its export, and the
deletion the member asks for, carried out after the profile's grace period.

The export gathers what the portal keeps about one account, from every domain app, and
nothing about anyone else: other accounts sharing an establishment or a coverage appear
only as the member sees them on their own pages (a family member's name and status).
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts import lifecycle
from vestibule.accounts.models import Account
from vestibule.accounts.sessions import sessions_end_everywhere
from vestibule.audit.models import Event
from vestibule.audit.services import actor_label, event_record
from vestibule.config import get_profile
from vestibule.coverage.models import CoverageRecord
from vestibule.coverage.selectors import family_rows
from vestibule.establishments.models import Membership
from vestibule.notifications.services import message_enqueue

EXPORT_FORMAT = "vestibule.account-export/1"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _account_fields(account: Account) -> dict[str, Any]:
    # Never the password hash nor the security answers' hashes: the export is handed to
    # whoever holds the session, and a hash is an offline guessing target.
    return {
        "email": account.email,
        "code": account.code,
        "kind": account.kind,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "status": account.status,
        "language": account.language,
        "region": account.region,
        "created_at": _time(account.created_at),
        "activated_at": _time(account.activated_at),
        "locked_at": _time(account.locked_at),
        "disabled_at": _time(account.disabled_at),
        "disabled_reason": account.disabled_reason,
        "deletion_requested_at": _time(account.deletion_requested_at),
        "is_staff": account.is_staff,
        "security_questions": [
            {"question": answer.question, "updated_at": _time(answer.updated_at)}
            for answer in account.security_answers.order_by("question")
        ],
        "sessions": [
            {
                "browser": record.user_agent,
                "ip_address": record.ip_address,
                "signed_in_at": _time(record.created_at),
                "last_used_at": _time(record.last_seen_at),
            }
            for record in account.session_records.all()
        ],
    }


def _registry_fields(account: Account) -> dict[str, Any] | None:
    member = account.member
    if member is None:
        return None
    return {
        "kind": member.kind,
        "code": member.code,
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "region": member.region,
        "active": member.active,
        "updated_at": _time(member.updated_at),
    }


def _memberships(account: Account) -> list[dict[str, Any]]:
    return [
        {
            "establishment": membership.establishment.name,
            "establishment_id": membership.establishment.public_id,
            "rights": list(membership.rights),
            "owner": membership.is_owner,
            "since": _time(membership.created_at),
        }
        for membership in Membership.objects.filter(account=account)
        .select_related("establishment")
        .order_by("establishment__name", "pk")
    ]


def _coverage(account: Account) -> dict[str, Any] | None:
    record = CoverageRecord.objects.select_related("primary").filter(account=account).first()
    if record is None:
        return None
    return {
        "first_name": record.first_name,
        "last_name": record.last_name,
        "plan": record.plan,
        "region": record.region,
        "primary_member": record.is_primary,
        "allows_dependents": record.allows_dependents,
        "linked_at": _time(record.linked_at),
        "invited_emails": [
            {"email": invited.email, "kind": invited.kind} for invited in record.emails.all()
        ],
        # As the member's coverage page shows them: a name and the invitation's answer.
        "family": [
            {"name": member.full_name, "status": status}
            for member, status in family_rows(record)
            if member.pk != record.pk
        ],
    }


def _events(account: Account) -> list[dict[str, Any]]:
    """Events about this account: its own, and those recorded under its e-mail or code
    before it had an account (the same reach as `events_pseudonymise`)."""
    typed = [account.email.lower(), *([account.code] if account.code else [])]
    events = Event.objects.filter(
        Q(account_id=account.pk) | Q(account__isnull=True, subject__in=typed)
    ).order_by("created_at", "pk")
    return [
        {
            "kind": event.kind,
            "time": _time(event.created_at),
            "ip_address": event.ip_address,
            "browser": event.user_agent,
            "data": event.data,
        }
        for event in events
    ]


def account_export(
    *, account: Account, actor: Account | None = None, request: HttpRequest | None = None
) -> dict[str, Any]:
    """Everything the portal keeps about `account`, JSON-able; audited "account.exported".

    `actor` is who asked: the member, a staff account, or None for the operator.
    """
    export = {
        "format": EXPORT_FORMAT,
        "exported_at": _time(timezone.now()),
        "account": _account_fields(account),
        "registry": _registry_fields(account),
        "memberships": _memberships(account),
        "coverage": _coverage(account),
        "events": _events(account),
    }
    event_record(
        "account.exported",
        request=request,
        account=account,
        by=actor_label(actor),
    )
    return export


def deletion_due_at(account: Account) -> datetime | None:
    """When the account asked to be deleted will be; None when it did not ask."""
    if account.deletion_requested_at is None:
        return None
    return account.deletion_requested_at + timedelta(
        days=get_profile().accounts.deletion_grace_days
    )


@transaction.atomic
def account_deletion_request(*, account: Account, request: HttpRequest | None = None) -> datetime:
    """The member asks for the account's deletion (the caller checked the password).

    Every session ends (and every section is told): signing in again is how the member
    cancels, so a session left open would cancel nothing and keep the account usable.
    Returns when the account will be deleted. Refused (AccountActionRefused) now, rather
    than by the job weeks later, for the last administrator of an establishment.
    """
    if lifecycle._last_administrator_of(account):
        raise lifecycle.AccountActionRefused("last_administrator")
    now = timezone.now()
    Account.objects.filter(pk=account.pk).update(deletion_requested_at=now)
    account.deletion_requested_at = now
    due = deletion_due_at(account)
    event_record(
        "account.deletion_requested",
        request=request,
        account=account,
        by=account.email,
        due=_time(due),
    )
    message_enqueue(
        template="account_deletion_requested",
        to=account.email,
        language=account.language,
        context={"account": account, "due": due},
    )
    sessions_end_everywhere(account=account, actor=account, request=request)
    return due


def account_deletion_cancel(*, account: Account, request: HttpRequest | None = None) -> bool:
    """Withdraw the account's deletion request (the member signed in); False when none."""
    cancelled = Account.objects.filter(pk=account.pk, deletion_requested_at__isnull=False).update(
        deletion_requested_at=None
    )
    account.deletion_requested_at = None
    if cancelled:
        event_record("account.deletion_cancelled", request=request, account=account)
    return bool(cancelled)


def deletions_due() -> int:
    """Delete the accounts whose deletion request is past the grace period (a job).

    Each is read again under a row lock, so a member signing in at that moment either
    cancels before the deletion or finds the account gone, never both; two workers never
    delete the same account twice.
    """
    cutoff = timezone.now() - timedelta(days=get_profile().accounts.deletion_grace_days)
    due = Account.objects.filter(deletion_requested_at__lte=cutoff).values_list("pk", flat=True)
    deleted = 0
    for pk in list(due):
        with transaction.atomic():
            account = (
                Account.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, deletion_requested_at__lte=cutoff)
                .first()
            )
            if account is None:
                continue
            try:
                lifecycle.account_delete(account=account, actor=None, reason="member request")
            except lifecycle.AccountActionRefused as refused:
                # Kept, and the request withdrawn, so the job does not try again every hour;
                # support sees why in the log (e.g. the last administrator of an establishment).
                Account.objects.filter(pk=pk).update(deletion_requested_at=None)
                event_record(
                    "account.deletion_refused",
                    account=account,
                    by=actor_label(None),
                    code=refused.code,
                )
                continue
        deleted += 1
    return deleted
