"""What a members' section learns about a member, and whether the member may enter it.

Plain functions over the domain models: the OpenID Connect validator (validators.py) and
the portal home both call them, so a section never receives, and the home never lists,
more than these rules allow.
"""

import json
from collections.abc import Sequence
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


# The id_token's `acr` (OpenID Connect Core §2): the level this sign-in reached, lowest
# first. Stable names that sections compare against; never renamed.
ACR_SINGLE_FACTOR = "urn:vestibule:acr:pwd"  # a password alone (or an e-mailed link)
ACR_MULTI_FACTOR = "urn:vestibule:acr:mfa"  # a second factor, or a verified passkey alone
ACR_VALUES = (ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR)


def acr_of(methods: list[str] | None) -> str:
    """The level of a sign-in made with `methods`: multi-factor when the sign-in flow said
    so ("mfa": the second factor stage, which a passwordless passkey passes only verified)."""
    return ACR_MULTI_FACTOR if "mfa" in amr_of(methods) else ACR_SINGLE_FACTOR


def acr_asked(acr_values: str = "", claims_parameter: str = "") -> str | None:
    """The lowest level of ours a section asked for, in `acr_values` or the `claims`
    parameter's id_token `acr` (OpenID Connect Core §3.1.2.1, §5.5.1.1); None when it named
    none of ours. Values we do not know are voluntary, so they are not an error: ignored."""
    asked = acr_values.split()
    try:
        requested = json.loads(claims_parameter) if claims_parameter else {}
        acr = requested.get("id_token", {}).get("acr") or {}
        asked += [acr["value"]] if isinstance(acr.get("value"), str) else []
        asked += [value for value in acr.get("values") or [] if isinstance(value, str)]
    except (ValueError, AttributeError, TypeError):
        pass  # oauthlib refuses a malformed claims parameter itself
    known = [value for value in ACR_VALUES if value in asked]
    return known[0] if known else None


def section_needs_second_factor(
    section: Section | None, methods: Sequence[str], acr: str | None = None
) -> bool:
    """This session has given no second factor and the section requires one, or the request
    asked for nothing less than multi-factor (`acr`, from acr_asked)."""
    required = (section is not None and section.requires_mfa) or acr == ACR_MULTI_FACTOR
    return required and "mfa" not in methods


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
