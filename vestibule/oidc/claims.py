"""What a members' section learns about a member, and whether the member may enter it.

Plain functions over the domain models: the OpenID Connect validator (validators.py) and
the portal home both call them, so a section never receives, and the home never lists,
more than these rules allow.
"""

from typing import Any

from vestibule.accounts.models import Account
from vestibule.config import get_profile
from vestibule.coverage.selectors import coverage_of
from vestibule.establishments.models import Membership
from vestibule.oidc.models import Section, Subject

# Which scope releases which claim (OpenID Connect Core §5.4, and ours: `membership`).
CLAIM_SCOPES = {
    "email": "email",
    "email_verified": "email",
    "given_name": "profile",
    "family_name": "profile",
    "name": "profile",
    "locale": "profile",
    "member_kind": "membership",
    "licence": "membership",
    "region": "membership",
    "establishments": "membership",
    "coverage": "membership",
}


def subject_of(account: Account) -> str:
    # Already read with the account where the caller joined it (the validator reads the
    # code's and the access token's account with select_related("user__oidc_subject")).
    if Account.oidc_subject.is_cached(account):
        cached = Account.oidc_subject.related.get_cached_value(account)
        if cached is not None:
            return str(cached.sub)
    return str(Subject.objects.get_or_create(account=account)[0].sub)


def _memberships(account: Account) -> list[Membership]:
    return list(Membership.objects.filter(account=account).select_related("establishment"))


def amr_of(methods: list[str] | None) -> list[str]:
    """The id_token's `amr` (RFC 8176): how this session's member proved who they are, as
    the session kept it at sign-in; a session opened before methods were kept, a password."""
    return list(methods) if methods else ["pwd"]


def section_needs_second_factor(section: Section | None, methods: list[str]) -> bool:
    """The section requires a second factor and this session has given none."""
    return section is not None and section.requires_mfa and "mfa" not in methods


def section_admits(section: Section | None, account: Account) -> bool:
    """The section's own rule: member kinds let in, an access right required."""
    if section is None:
        return True
    if section.allowed_kinds and account.kind not in section.allowed_kinds:
        return False
    if section.required_right:
        return any(section.required_right in m.rights for m in _memberships(account))
    return True


def claims_of(account: Account) -> dict[str, Any]:
    """Every claim Vestibule can tell about `account`; the scopes granted filter them."""
    claims: dict[str, Any] = {
        "email": account.email,
        # Only activated accounts sign in, and activation is proof of the address.
        "email_verified": account.activated_at is not None,
        "given_name": account.first_name,
        "family_name": account.last_name,
        "name": account.full_name,
        "locale": account.language,
        "member_kind": account.kind,
        "licence": account.code or "",
        "region": account.region,
    }
    if get_profile().access_rights:
        claims["establishments"] = [
            {
                "id": m.establishment.public_id,
                "name": m.establishment.name,
                "rights": list(m.rights),
            }
            for m in _memberships(account)
        ]
    if get_profile().regions:  # coverage exists where the profile has regions (seed 004)
        record = coverage_of(account)
        claims["coverage"] = (
            {"status": "covered", "plan": record.plan, "region": record.region}
            if record
            else {"status": "none"}
        )
    return claims
