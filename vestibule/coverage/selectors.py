from vestibule.accounts.models import Account
from vestibule.config import Profile, Text, get_profile
from vestibule.coverage.models import CoverageRecord, FamilyInvitation


def coverage_of(account: Account) -> CoverageRecord | None:
    """The coverage record linked to `account`, if any."""
    if account.pk is None:
        return None
    return CoverageRecord.objects.select_related("primary").filter(account=account).first()


def family_of(record: CoverageRecord) -> list[CoverageRecord]:
    """The primary member and the dependents of the coverage `record` belongs to."""
    primary = record.primary or record
    dependents = (
        CoverageRecord.objects.filter(primary=primary)
        .select_related("family_invitation")
        .order_by("pk")
    )
    return [primary, *dependents]


def family_status(member: CoverageRecord) -> str:
    """ "invited", "accepted" or "declined": all a family's page says of a dependent.

    Never whether the invited address has an account: a dependent is "invited" until it
    accepts (or is linked by its own e-mail or code, for the records the files list).
    """
    if member.account_id is not None:
        return "accepted"
    invitation = getattr(member, "family_invitation", None)
    if invitation is not None and invitation.state == FamilyInvitation.State.DECLINED:
        return "declined"
    return "invited"


def family_rows(record: CoverageRecord) -> list[tuple[CoverageRecord, str]]:
    """The family of `record` with each dependent's status, as `record`'s holder sees it.

    Who declined is the primary member's business only: other family members never see it.
    """
    rows = []
    for member in family_of(record):
        status = "primary" if member.is_primary else family_status(member)
        if status != "declined" or record.is_primary:
            rows.append((member, status))
    return rows


def family_invitations_for(account: Account) -> list[FamilyInvitation]:
    """Open family invitations sent to the account's address (verified at activation)."""
    if account.pk is None or not account.email:
        return []
    return list(
        FamilyInvitation.objects.select_related("primary", "record")
        .filter(
            email=account.email.strip().lower(),
            state=FamilyInvitation.State.INVITED,
            record__account__isnull=True,
        )
        .order_by("created_at", "pk")
    )


def region_label(key: str, profile: Profile | None = None) -> Text:
    """The region's name in every language, shown in the language of the page or e-mail."""
    region = next((r for r in (profile or get_profile()).regions if r.key == key), None)
    return region.name if region else Text({"fr": key})


def region_name(key: str, profile: Profile | None = None) -> str:
    """« Québec » for "qc", in the active language; the key itself when the profile lacks it."""
    return str(region_label(key, profile))
