"""Whether an account must, may or may not use a second factor: the profile's [mfa] table."""

from django.conf import settings
from django.db.models import QuerySet

from vestibule.accounts.models import Account
from vestibule.config import MFA_LEVELS, Profile, get_profile
from vestibule.establishments.models import Membership
from vestibule.mfa.models import Factor


def _strictest(levels: list[str]) -> str:
    return max(levels, key=MFA_LEVELS.index)


def mfa_policy(account: Account, profile: Profile | None = None) -> str:
    """ "off", "optional" or "required": the strictest of what applies to the account.

    The profile's default, its member kind's level, the level of every access right it holds
    in any establishment, and for staff the staff level (capped at "optional" outside
    production).
    """
    mfa = (profile or get_profile()).mfa
    levels = [mfa.default]
    if account.kind in mfa.kinds:
        levels.append(mfa.kinds[account.kind])
    if mfa.rights:
        held = {
            right
            for rights in Membership.objects.filter(account=account).values_list(
                "rights", flat=True
            )
            for right in rights
        }
        levels.extend(level for right, level in mfa.rights.items() if right in held)
    if account.is_staff:
        staff = mfa.staff
        if not settings.PRODUCTION and staff == "required":
            staff = "optional"
        levels.append(staff)
    return _strictest(levels)


def factors_of(account: Account) -> QuerySet[Factor]:
    """The account's factors (authenticator apps and passkeys), oldest first."""
    return Factor.objects.filter(account=account)


def has_factor(account: Account) -> bool:
    """True when the account has an app or a passkey (recovery codes alone are no factor)."""
    return factors_of(account).exists()
