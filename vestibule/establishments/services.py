"""Establishments, their users and access rights, and invitations (seed 001, seed 000).

Every rule the pages rely on lives here: who may manage users, that an establishment
always keeps one administrator, that an invitation is used once. Views call these and
check nothing themselves beyond "signed in".
"""

import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.lifecycle import account_disable, account_enable
from vestibule.accounts.models import Account
from vestibule.accounts.password_policy import password_check, password_check_for
from vestibule.accounts.services import account_set_password
from vestibule.audit.services import actor_label, event_record
from vestibule.config import Profile, get_profile
from vestibule.establishments.models import Establishment, Invitation, Membership
from vestibule.notifications.services import message_enqueue
from vestibule.tokens.models import Token
from vestibule.tokens.services import (
    TokenInvalid,
    token_find,
    token_issue,
    token_spend,
    tokens_revoke,
)


class RightsError(Exception):
    """A change the rules refuse; `code` says which rule."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class EstablishmentRefused(ValueError):
    """An establishment that cannot be opened; `code` says why, `message` says it to a person."""

    MESSAGES = {
        "name_required": _("Give the establishment's name."),
        "email_invalid": _("Enter a valid e-mail address for the first administrator."),
    }

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(self.MESSAGES.get(self.code, self.code))


class InvitationInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "unknown", "accepted", "revoked", "expired", "other_account"


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


def invitation_needs_password(invitation: Invitation) -> bool:
    """The invitation page asks for a password: a new user, or a dormant delegate."""
    existing = Account.objects.by_email(invitation.email).first()
    if existing is None:
        return not invitation.for_existing_account
    return account_dormant(existing)


def _invitation_mail(invitation: Invitation, key: str) -> None:
    account = Account.objects.by_email(invitation.email).first()
    message_enqueue(
        template="invitation_existing" if invitation.for_existing_account else "invitation",
        to=invitation.email,
        language=account.language if account else get_profile().languages[0],
        language_known=account is not None,
        context={
            "invitation": invitation,
            "establishment": invitation.establishment,
            "link_path": f"/establishments/invitations/{key}/",
            "lifetime_days": get_profile().establishments.invitation_lifetime_days,
        },
    )


@transaction.atomic
def invitation_send(
    *,
    establishment: Establishment,
    email: str,
    rights: Iterable[str],
    inviter: Account | None,
    first_name: str = "",
    last_name: str = "",
    for_existing_account: bool = False,
    as_owner: bool = False,
    request: HttpRequest | None = None,
) -> Invitation:
    """Invite `email` to `establishment` with `rights`; an earlier pending one is revoked."""
    email = email.strip().lower()
    for earlier in Invitation.objects.filter(
        establishment=establishment, email__iexact=email, state=Invitation.State.PENDING
    ).select_related("establishment"):
        invitation_revoke(invitation=earlier, by=inviter, request=request)
    key, token = token_issue(
        purpose=Token.Purpose.INVITATION,
        lifetime=timedelta(days=get_profile().establishments.invitation_lifetime_days),
    )
    invitation = Invitation.objects.create(
        establishment=establishment,
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        rights=rights_clean(rights),
        for_existing_account=for_existing_account,
        as_owner=as_owner,
        inviter=inviter,
        token=token,
    )
    _invitation_mail(invitation, key)
    event_record(
        "invitation.sent",
        request=request,
        account=inviter,
        subject=email,
        establishment=establishment.public_id,
        rights=invitation.rights,
    )
    return invitation


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, by: Account | None, request: HttpRequest | None
) -> bool:
    # The key first, as invitation_accept does: the same lock order, so a revocation and an
    # acceptance at once wait for each other instead of deadlocking.
    tokens_revoke(Token.objects.filter(pk=invitation.token_id))
    revoked = Invitation.objects.filter(pk=invitation.pk, state=Invitation.State.PENDING).update(
        state=Invitation.State.REVOKED
    )
    if revoked:
        event_record(
            "invitation.revoked",
            request=request,
            account=by,
            subject=invitation.email,
            establishment=invitation.establishment.public_id,
        )
    return bool(revoked)


def invitation_resend(
    *, invitation: Invitation, by: Account, request: HttpRequest | None
) -> Invitation:
    """A fresh link and expiry for the same person and rights; the old link stops working."""
    return invitation_send(
        establishment=invitation.establishment,
        email=invitation.email,
        rights=invitation.rights,
        inviter=by,
        first_name=invitation.first_name,
        last_name=invitation.last_name,
        for_existing_account=invitation.for_existing_account,
        request=request,
    )


def invitation_find(key: str) -> Invitation:
    """The pending invitation behind `key`, or InvitationInvalid saying why not."""
    try:
        token, reason = token_find(key=key, purpose=Token.Purpose.INVITATION), ""
    except TokenInvalid as invalid:
        token, reason = invalid.token, invalid.reason
    invitation = (
        Invitation.objects.select_related("establishment", "token").filter(token=token).first()
        if token is not None
        else None
    )
    if invitation is None:
        raise InvitationInvalid("unknown")
    if invitation.state != Invitation.State.PENDING:
        raise InvitationInvalid(invitation.state)
    if reason:
        raise InvitationInvalid("revoked" if reason == "used" else reason)
    return invitation


def _invitation_kind(profile: Profile) -> str:
    """New invited users get the first kind that joins by invitation (seed 000's delegate)."""
    by_invitation = [kind for kind in profile.member_kinds if not kind.self_registration]
    return (by_invitation or list(profile.member_kinds))[0].key


@transaction.atomic
def invitation_accept(
    *,
    key: str,
    account: Account | None = None,
    password: str = "",
    request: HttpRequest | None = None,
) -> Membership:
    """Accept once. A new user gets an active account with `password`; an existing account
    must be the invited address's. Of concurrent acceptances exactly one succeeds."""
    invitation = invitation_find(key)
    existing = Account.objects.by_email(invitation.email).first()
    dormant = account_dormant(existing)
    if dormant:
        if not password:
            raise InvitationInvalid("other_account")
        password_check_for(password, existing)
    elif existing is not None:
        if account is None or account.pk != existing.pk:
            raise InvitationInvalid("other_account")
    elif not password:
        raise InvitationInvalid("other_account")
    else:
        # The policy, with the invited person's e-mail and names, before the invitation is
        # spent: a refused password leaves it open (ValidationError).
        password_check(
            password, email=invitation.email, names=[invitation.first_name, invitation.last_name]
        )
    try:
        # Spent in this transaction: of concurrent acceptances (or a revocation) one wins.
        token_spend(token_id=invitation.token_id)
    except TokenInvalid as invalid:
        if invalid.reason == "expired":
            raise InvitationInvalid("expired") from None
        state = Invitation.objects.filter(pk=invitation.pk).values_list("state", flat=True)
        revoked = state.first() == Invitation.State.REVOKED
        raise InvitationInvalid("revoked" if revoked else "accepted") from None
    Invitation.objects.filter(pk=invitation.pk).update(
        state=Invitation.State.ACCEPTED, accepted_at=timezone.now()
    )
    if existing is None:
        try:
            with transaction.atomic():
                existing = Account(
                    email=invitation.email,
                    kind=_invitation_kind(get_profile()),
                    first_name=invitation.first_name,
                    last_name=invitation.last_name,
                    status=Account.Status.ACTIVE,
                    activated_at=timezone.now(),
                    language=getattr(request, "LANGUAGE_CODE", "fr"),
                )
                existing.set_password(password)
                existing.save()
        except IntegrityError:
            raise InvitationInvalid("accepted") from None
        event_record("account.created_by_invitation", request=request, account=existing)
    elif dormant:
        # It could not sign in to accept: the invited person chooses a new password, which
        # also ends any link still pending for the old one.
        account_set_password(
            account=existing, password=password, event="password.set_by_invitation", request=request
        )
        account_enable(account=existing, actor=invitation.inviter, request=request)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=existing)
    membership = membership_grant(
        account=existing,
        establishment=invitation.establishment,
        rights=invitation.rights,
        request=request,
    )
    if invitation.as_owner and not membership.is_owner:
        membership.is_owner = True
        membership.save(update_fields=["is_owner"])
    event_record(
        "invitation.accepted",
        request=request,
        account=existing,
        establishment=invitation.establishment.public_id,
        rights=membership.rights,
    )
    return membership


def administered_count(account: Account) -> int:
    admin_rights = administering_rights()
    return sum(1 for m in memberships_of(account) if admin_rights & set(m.rights))


@transaction.atomic
def establishment_open(
    *,
    name: str,
    admin_email: str,
    admin_name: str = "",
    region: str = "",
    actor: Account | None,
    request: HttpRequest | None = None,
) -> Invitation:
    """A new establishment and the invitation of its first administrator, with every right;
    accepting it (the ordinary invitation path) makes that account its owner.

    `vestibule create-establishment` (actor None: the operator) and the admin console.
    """
    name = name.strip()
    if not name:
        raise EstablishmentRefused("name_required")
    admin_email = admin_email.strip().lower()
    try:
        validate_email(admin_email)
    except ValidationError:
        raise EstablishmentRefused("email_invalid") from None
    establishment = Establishment.objects.create(
        name=name, public_id=secrets.token_hex(4).upper(), region=region.strip()
    )
    event_record(
        "establishment.created",
        request=request,
        account=actor,
        subject=establishment.public_id,
        establishment=establishment.public_id,
        name=name,
        by=actor_label(actor),
        administrator=admin_email,
    )
    first_name, _space, last_name = admin_name.strip().partition(" ")
    existing = Account.objects.by_email(admin_email).first()
    return invitation_send(
        establishment=establishment,
        email=admin_email,
        rights=[right.key for right in get_profile().access_rights],
        inviter=actor,
        first_name=first_name,
        last_name=last_name,
        for_existing_account=existing is not None and not account_dormant(existing),
        as_owner=True,
        request=request,
    )
