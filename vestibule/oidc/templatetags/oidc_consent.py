"""What the consent screen tells a member a third-party section will receive, by scope."""

from collections.abc import Iterable

from django import template
from django.utils.translation import gettext_lazy as _

from vestibule.config import get_profile
from vestibule.oidc.claims import CLAIM_SCOPES

register = template.Library()

SCOPE_NAMES = {
    "openid": _("Your identity"),
    "profile": _("Your profile"),
    "email": _("Your e-mail address"),
    "membership": _("Your membership"),
}

CLAIM_NAMES = {
    "email": _("e-mail address"),
    "email_verified": _("whether that address is confirmed"),
    "given_name": _("first name"),
    "family_name": _("last name"),
    "name": _("full name"),
    "locale": _("language"),
    "member_kind": _("member kind"),
    "licence": _("licence or member number"),
    "region": _("region"),
    "establishments": _("establishments, and your access rights in each"),
    "coverage": _("coverage (status and plan)"),
}


def _profile_has(claim: str) -> bool:
    # The same conditions as claims_of: a section never learns of what the profile lacks.
    profile = get_profile()
    if claim == "establishments":
        return bool(profile.access_rights)
    if claim == "coverage":
        return bool(profile.regions)
    return True


@register.simple_tag
def claims_by_scope(scopes: Iterable[str]) -> list[dict]:
    """[{scope, name, claims: [human names]}] for the scopes requested, in a stable order."""
    shown = []
    for scope in SCOPE_NAMES:
        if scope not in scopes:
            continue
        if scope == "openid":
            claims = [_("an identifier for this section (random, never your e-mail)")]
        else:
            claims = [
                CLAIM_NAMES[claim]
                for claim, claim_scope in CLAIM_SCOPES.items()
                if claim_scope == scope and claim in CLAIM_NAMES and _profile_has(claim)
            ]
        shown.append({"scope": scope, "name": SCOPE_NAMES[scope], "claims": claims})
    return shown
