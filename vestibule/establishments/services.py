"""Establishments, their users and access rights (seed 001, seed 000).

The rules the pages rely on: who may manage users, that an establishment always keeps one
administrator, what becomes of a delegate removed from its last establishment. Views call
these and check nothing themselves beyond "signed in". Invitations are in invitations.py,
the opening of an establishment in onboarding.py.
"""

import secrets
from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from vestibule.accounts.lifecycle import account_disable
from vestibule.accounts.models import Account
from vestibule.audit.services import event_record
from vestibule.config import Profile, get_profile
from vestibule.establishments.models import Establishment, Membership


class RightsError(Exception):
    """A change the rules refuse; `code` says which rule."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def administering_rights(profile: Profile | None = None) -> set[str]:
    return {right.key for right in (profile or get_profile()).access_rights if right.administers}


def rights_clean(rights: Iterable[str], profile: Profile | None = None) -> list[str]:
    """The profile's rights among `rights`, in the profile's order; anything else is dropped."""
    wanted = set(rights)
    return [right.key for right in (profile or get_profile()).access_rights if right.key in wanted]


def membership_of(account: Account, establishment_id: int | None) -> Membership | None:
    if not establishment_id or not account.is_authenticated:
        return None
    return (
        Membership.objects.select_related("establishment")
        .filter(account=account, establishment_id=establishment_id)
        .first()
    )


def memberships_of(account: Account) -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("establishment")
        .filter(account=account)
        .order_by("establishment__name", "pk")
    )


def can_administer(membership: Membership | None) -> bool:
    return membership is not None and bool(administering_rights() & set(membership.rights))


def _administrators(establishment: Establishment) -> list[Membership]:
    admin_rights = administering_rights()
    return [
        m
        for m in Membership.objects.select_for_update().filter(establishment=establishment)
        if admin_rights & set(m.rights)
    ]


@transaction.atomic
def establishment_create(
    *, name: str, owner: Account, public_id: str = "", region: str = ""
) -> Establishment:
    """A new establishment whose owner holds every right."""
    establishment = Establishment.objects.create(
        name=name, public_id=public_id or secrets.token_hex(4).upper(), region=region
    )
    event_record("establishment.created", account=owner, establishment=establishment.public_id)
    membership = membership_grant(
        account=owner,
        establishment=establishment,
        rights=[right.key for right in get_profile().access_rights],
    )
    membership.is_owner = True
    membership.save(update_fields=["is_owner"])
    return establishment


def membership_grant(
    *,
    account: Account,
    establishment: Establishment,
    rights: Iterable[str],
    request: HttpRequest | None = None,
) -> Membership:
    """Give `account` `rights` in `establishment`, adding them to any it already holds."""
    membership, created = Membership.objects.get_or_create(
        account=account, establishment=establishment, defaults={"rights": rights_clean(rights)}
    )
    if not created:
        membership.rights = rights_clean(set(membership.rights) | set(rights))
        membership.save(update_fields=["rights"])
    event_record(
        "membership.granted",
        request=request,
        account=account,
        establishment=establishment.public_id,
        rights=membership.rights,
    )
    return membership


def _owner_guard(*, membership: Membership, by: Account) -> None:
    """Owners are removed, or their rights changed, only by another owner or by staff.

    Without it a delegate holding the users right could remove the account that made
    them a delegate. The owners' rows are locked first, so two owners removing each other
    at once are served in turn and the second one is refused.
    """
    owners = set(
        Membership.objects.select_for_update()
        .filter(establishment_id=membership.establishment_id, is_owner=True)
        .values_list("account_id", flat=True)
    )
    if membership.account_id not in owners or (by.is_staff and by.is_active):
        return
    if by.pk in owners and by.pk != membership.account_id:
        return
    raise RightsError("owner")


@transaction.atomic
def membership_rights_change(
    *, membership: Membership, rights: Iterable[str], by: Account, request: HttpRequest | None
) -> Membership:
    new_rights = rights_clean(rights)
    if new_rights != membership.rights:
        _owner_guard(membership=membership, by=by)
    admin_rights = administering_rights()
    losing_admin = admin_rights & set(membership.rights) and not admin_rights & set(new_rights)
    if losing_admin and len(_administrators(membership.establishment)) <= 1:
        raise RightsError("last_administrator")
    old = membership.rights
    membership.rights = new_rights
    membership.save(update_fields=["rights"])
    event_record(
        "membership.rights_changed",
        request=request,
        account=membership.account,
        establishment=membership.establishment.public_id,
        by=by.email,
        before=old,
        after=new_rights,
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, by: Account, request: HttpRequest | None) -> None:
    _owner_guard(membership=membership, by=by)
    if can_administer(membership) and len(_administrators(membership.establishment)) <= 1:
        raise RightsError("last_administrator")
    event_record(
        "membership.removed",
        request=request,
        account=membership.account,
        establishment=membership.establishment.public_id,
        by=by.email,
    )
    membership.delete()
    account = membership.account
    if _is_delegate(account) and not Membership.objects.filter(account=account).exists():
        # Seed 000's delegate, seed 001's hotel user: the establishments were the only
        # reason for the account. It is deleted after the profile's delay (delegates_purge)
        # unless an establishment invites the address again meanwhile.
        account_disable(
            account=account,
            reason="removed from its last establishment",
            actor=by,
            cause=Account.DisabledCause.MEMBERSHIP,
            request=request,
        )


def _is_delegate(account: Account) -> bool:
    """An account that exists only through invitations: no registry record, a kind that
    joins by invitation, not staff."""
    kind = get_profile().kind(account.kind)
    return (
        account.member_id is None
        and kind is not None
        and not kind.self_registration
        and not (account.is_staff or account.is_superuser)
    )


def account_dormant(account: Account | None) -> bool:
    """Disabled for having left its last establishment: a new invitation wakes it up, with
    a password chosen on the invitation page (it could not sign in to accept)."""
    return (
        account is not None
        and account.status == Account.Status.DISABLED
        and account.disabled_cause == Account.DisabledCause.MEMBERSHIP
    )


def administered_count(account: Account) -> int:
    admin_rights = administering_rights()
    return sum(1 for m in memberships_of(account) if admin_rights & set(m.rights))
