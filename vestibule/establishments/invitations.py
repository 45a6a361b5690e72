"""Invitations to an establishment (seed 001's users, seed 000's delegates): sent by e-mail,
accepted once, revoked or sent again. Of concurrent acceptances exactly one succeeds.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.lifecycle import account_enable
from vestibule.accounts.models import Account
from vestibule.accounts.password_policy import password_check, password_check_for
from vestibule.accounts.services import account_set_password
from vestibule.audit.services import event_record
from vestibule.config import Profile, get_profile
from vestibule.establishments.models import Establishment, Invitation, Membership
from vestibule.establishments.services import account_dormant, membership_grant, rights_clean
from vestibule.notifications.services import message_enqueue
from vestibule.tokens.models import Token
from vestibule.tokens.services import (
    TokenInvalid,
    token_find,
    token_issue,
    token_spend,
    tokens_revoke,
)


class InvitationInvalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "unknown", "accepted", "revoked", "expired", "other_account"


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
