"""Family members (seed 004): a primary member invites, the invited person accepts or declines.

An address typed by a primary member proves nothing about whose it is (issue 12, item 8):
the dependent record made for it is linked to nobody until the account of that address
accepts on « Invitation familiale », a page naming the primary member and the plan.
Until then the record has no invited address, so neither activation nor an access code
can link it, and the primary member sees « Invitation envoyée » whether or not the address
has an account. A declined invitation never links.
"""

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from vestibule.accounts.models import Account
from vestibule.audit.services import event_record
from vestibule.coverage import throttles
from vestibule.coverage.models import CoverageRecord, FamilyInvitation, InvitedEmail
from vestibule.coverage.selectors import coverage_of
from vestibule.coverage.services import CoverageRefused, _link_moving_region
from vestibule.notifications.services import message_enqueue


def _email_normalise(raw: str) -> str:
    return raw.strip().lower()


def _invitation_mail(invitation: FamilyInvitation, *, language: str) -> None:
    message_enqueue(
        template="coverage_family_invitation",
        to=invitation.email,
        language=language,
        context={
            "record": invitation.record,
            "inviter": invitation.primary,
            "email": invitation.email,
        },
    )


@transaction.atomic
def dependent_invite(
    *,
    primary_account: Account,
    first_name: str,
    last_name: str,
    email: str,
    request: HttpRequest | None = None,
) -> FamilyInvitation:
    """A primary member invites a family member: a dependent record waiting for acceptance.

    Inviting again an address that has not answered sends the invitation again; an address
    that declined is not invited again by the same primary member.
    """
    primary = coverage_of(primary_account)
    if primary is None or not primary.is_primary or not primary.allows_dependents:
        raise CoverageRefused("not_allowed")
    if not throttles.family_invitation_allowed(primary_account.pk):
        raise CoverageRefused("throttled")
    email = _email_normalise(email)
    if email == _email_normalise(primary_account.email):
        raise CoverageRefused("already_covered")
    if InvitedEmail.objects.filter(region=primary.region, email=email).exists():
        raise CoverageRefused("already_covered")
    earlier = (
        FamilyInvitation.objects.select_related("record")
        .filter(primary=primary, email=email)
        .order_by("-created_at", "-pk")
        .first()
    )
    if earlier is not None and earlier.record.account_id is not None:
        raise CoverageRefused("already_covered")  # linked, by its acceptance or by staff
    if earlier is not None and earlier.state == FamilyInvitation.State.DECLINED:
        raise CoverageRefused("declined")
    if earlier is not None and earlier.state == FamilyInvitation.State.INVITED:
        _invitation_mail(earlier, language=primary_account.language)
        event_record(
            "coverage.dependent_invited_again",
            request=request,
            account=primary_account,
            subject=email,
            record=earlier.record_id,
        )
        return earlier
    record = CoverageRecord.objects.create(
        region=primary.region,
        plan=primary.plan,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        primary=primary,
    )
    try:
        with transaction.atomic():
            invitation = FamilyInvitation.objects.create(
                record=record, primary=primary, email=email
            )
    except IntegrityError:  # the same invitation posted twice at once
        raise CoverageRefused("already_invited") from None
    _invitation_mail(invitation, language=primary_account.language)
    event_record(
        "coverage.dependent_invited",
        request=request,
        account=primary_account,
        subject=email,
        record=record.pk,
    )
    return invitation


def _invitation_for(account: Account, invitation_id: int) -> FamilyInvitation:
    """The invitation `invitation_id` if it was sent to `account`'s address, locked."""
    invitation = (
        FamilyInvitation.objects.select_for_update()
        .select_related("record", "primary")
        .filter(pk=invitation_id, email=_email_normalise(account.email))
        .first()
    )
    if invitation is None:
        raise CoverageRefused("not_found")
    return invitation


@transaction.atomic
def family_invitation_accept(
    *, account: Account, invitation_id: int, request: HttpRequest | None = None
) -> CoverageRecord:
    """« Accepter »: the account joins the family's coverage, in the coverage's region.

    Accepting twice (a double click) gives the same coverage; a declined or answered
    invitation, or an account already covered, is refused.
    """
    invitation = _invitation_for(account, invitation_id)
    record = invitation.record
    if invitation.state == FamilyInvitation.State.ACCEPTED and record.account_id == account.pk:
        return record
    if invitation.state != FamilyInvitation.State.INVITED or record.account_id is not None:
        raise CoverageRefused("answered")
    if coverage_of(account) is not None:
        raise CoverageRefused("account_linked")
    if not _link_moving_region(
        record=record,
        account=account,
        how="family_invitation",
        request=request,
        invitation=invitation.pk,
    ):
        raise CoverageRefused("account_linked")  # linked elsewhere at this very moment
    now = timezone.now()
    FamilyInvitation.objects.filter(pk=invitation.pk).update(
        state=FamilyInvitation.State.ACCEPTED, answered_at=now, answered_by=account
    )
    try:
        with transaction.atomic():
            # The address now belongs to the record, as an imported one would.
            InvitedEmail.objects.create(record=record, region=record.region, email=invitation.email)
    except IntegrityError:
        pass  # the address came in with an import meanwhile: it stays with that record
    event_record(
        "coverage.family_invitation_accepted",
        request=request,
        account=account,
        invitation=invitation.pk,
        record=record.pk,
        primary=invitation.primary_id,
    )
    return record


@transaction.atomic
def family_invitation_decline(
    *, account: Account, invitation_id: int, request: HttpRequest | None = None
) -> None:
    """« Refuser »: final for this invitation; its record is never linked through it."""
    invitation = _invitation_for(account, invitation_id)
    if invitation.state == FamilyInvitation.State.DECLINED:
        return
    if invitation.state != FamilyInvitation.State.INVITED or invitation.record.account_id:
        raise CoverageRefused("answered")
    FamilyInvitation.objects.filter(pk=invitation.pk).update(
        state=FamilyInvitation.State.DECLINED, answered_at=timezone.now(), answered_by=account
    )
    event_record(
        "coverage.family_invitation_declined",
        request=request,
        account=account,
        invitation=invitation.pk,
        record=invitation.record_id,
        primary=invitation.primary_id,
    )
