from django import template

from vestibule.accounts.models import Account
from vestibule.coverage import selectors
from vestibule.coverage.models import CoverageRecord

register = template.Library()


@register.simple_tag
def coverage_of(account: Account) -> CoverageRecord | None:
    """{% coverage_of user as record %}: the coverage linked to the account, or None."""
    return selectors.coverage_of(account)


@register.simple_tag
def family_invitations_for(account: Account) -> list:
    """{% family_invitations_for user as invitations %}: open invitations to its address."""
    return selectors.family_invitations_for(account)


@register.filter
def region_name(key: str) -> str:
    """{{ account.region|region_name }}: « Québec » for "qc", in the active language."""
    return selectors.region_name(key)
