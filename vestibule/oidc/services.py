"""Members' sections as the operator registers them: the OAuth application django-oauth-toolkit
keeps, the Section beside it, and an audit event for every change.

The command line (`vestibule oidc-client`) and the admin console both call these functions,
so a section is checked and recorded the same way whichever door the operator uses.
"""

import ipaddress
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from oauth2_provider.models import Application

from vestibule.audit.services import actor_label, event_record
from vestibule.config import get_profile
from vestibule.oidc.models import Section


class SectionError(ValueError):
    """A section the operator described cannot be registered; the message says why."""


def oidc_issuer() -> str:
    """The issuer relying parties are told: the configured base URL + /o."""
    configured = settings.OAUTH2_PROVIDER.get("OIDC_ISS_ENDPOINT")
    return configured or f"{settings.VESTIBULE_BASE_URL.rstrip('/')}/o"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _uri_check(uri: str, *, label: str) -> str:
    """An absolute https URI; plain http only for this machine, and only in development
    (a code sent in clear over the network can be read and redeemed by anyone on the way)."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.hostname:
        raise SectionError(
            _("%(label)s %(uri)s is not an absolute URI.") % {"label": label, "uri": uri}
        )
    if parts.fragment:
        raise SectionError(
            _("%(label)s %(uri)s must not have a fragment (#).") % {"label": label, "uri": uri}
        )
    if parts.scheme == "https":
        return uri
    if parts.scheme == "http" and not settings.PRODUCTION and _is_loopback(parts.hostname):
        return uri
    raise SectionError(
        _(
            "%(label)s %(uri)s must use https (plain http is accepted for this machine only, "
            "in development)."
        )
        % {"label": label, "uri": uri}
    )


def section_validate(
    *,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    backchannel_logout_uri: str,
    home_url: str,
    allowed_kinds: Iterable[str],
    required_right: str,
) -> list[str]:
    """Raise SectionError on the first thing wrong; the member kinds, without repeats."""
    if not redirect_uris:
        raise SectionError(_("A section needs at least one redirect URI."))
    for uri in redirect_uris:
        _uri_check(uri, label=_("Redirect URI"))
    for uri in post_logout_redirect_uris:
        _uri_check(uri, label=_("Post-logout redirect URI"))
    if backchannel_logout_uri:
        _uri_check(backchannel_logout_uri, label=_("Back-channel logout URI"))
    if home_url:
        _uri_check(home_url, label=_("Address of the section"))
    return _rules_check(allowed_kinds=allowed_kinds, required_right=required_right)


def _rules_check(*, allowed_kinds: Iterable[str], required_right: str) -> list[str]:
    profile = get_profile()
    kinds = list(dict.fromkeys(allowed_kinds))
    known_kinds = [kind.key for kind in profile.member_kinds]
    for kind in kinds:
        if kind not in known_kinds:
            raise SectionError(
                _("Unknown member kind %(kind)s (this profile has: %(known)s).")
                % {"kind": kind, "known": ", ".join(known_kinds)}
            )
    known_rights = [right.key for right in profile.access_rights]
    if required_right and required_right not in known_rights:
        raise SectionError(
            _("Unknown access right %(right)s (this profile has: %(known)s).")
            % {"right": required_right, "known": ", ".join(known_rights) or _("none")}
        )
    return kinds


def _record(
    kind: str,
    application: Application,
    *,
    actor: Any,
    request: HttpRequest | None,
    **data: Any,
) -> None:
    event_record(
        kind,
        request=request,
        # The console names its staff account; the command line is "operator", as for every
        # other change an operator makes there.
        by=actor_label(actor),
        client=application.client_id,
        name=application.name,
        **data,
    )


@transaction.atomic
def section_add(
    *,
    name: str,
    redirect_uris: Iterable[str],
    post_logout_redirect_uris: Iterable[str] = (),
    backchannel_logout_uri: str = "",
    public: bool = False,
    allowed_kinds: Iterable[str] = (),
    required_right: str = "",
    first_party: bool = True,
    description_fr: str = "",
    description_en: str = "",
    home_url: str = "",
    requires_mfa: bool = False,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> tuple[Application, str]:
    """Register a section; (its application, its clear secret — "" for a public client).

    The secret is shown this once: django-oauth-toolkit stores only its hash.
    """
    name = name.strip()
    if not name:
        raise SectionError(_("A section needs a name."))
    redirects, logouts = list(redirect_uris), list(post_logout_redirect_uris)
    kinds = section_validate(
        redirect_uris=redirects,
        post_logout_redirect_uris=logouts,
        backchannel_logout_uri=backchannel_logout_uri,
        home_url=home_url,
        allowed_kinds=allowed_kinds,
        required_right=required_right,
    )
    secret = "" if public else secrets.token_urlsafe(48)
    application = Application(
        name=name,
        client_type=Application.CLIENT_PUBLIC if public else Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(redirects),
        post_logout_redirect_uris=" ".join(logouts),
        algorithm=Application.RS256_ALGORITHM,
        client_secret=secret,
        hash_client_secret=True,
        # Sections the organisation runs skip the consent screen; a third party asks.
        skip_authorization=first_party,
    )
    try:
        application.clean()
    except ValidationError as error:
        raise SectionError(" ".join(error.messages)) from None
    application.save()
    Section.objects.create(
        application=application,
        description_fr=description_fr,
        description_en=description_en,
        home_url=home_url,
        allowed_kinds=kinds,
        required_right=required_right,
        backchannel_logout_uri=backchannel_logout_uri,
        first_party=first_party,
        requires_mfa=requires_mfa,
    )
    _record(
        "oidc.client_added",
        application,
        actor=actor,
        request=request,
        public=public,
        first_party=first_party,
        requires_mfa=requires_mfa,
        redirect_uris=redirects,
        allowed_kinds=kinds,
        required_right=required_right,
    )
    return application, secret


def section_of(client_id: str) -> Section:
    section = (
        Section.objects.select_related("application")
        .filter(application__client_id=client_id)
        .first()
    )
    if section is None:
        raise SectionError(
            _("No section has the client ID %(client_id)s.") % {"client_id": client_id}
        )
    return section


@transaction.atomic
def section_change(
    *,
    section: Section,
    changed: Iterable[str] = (),
    actor: Any = None,
    request: HttpRequest | None = None,
) -> Section:
    """Save a section (and its application) edited by the operator, checked and recorded."""
    application = section.application
    section.allowed_kinds = section_validate(
        redirect_uris=application.redirect_uris.split(),
        post_logout_redirect_uris=application.post_logout_redirect_uris.split(),
        backchannel_logout_uri=section.backchannel_logout_uri,
        home_url=section.home_url,
        allowed_kinds=section.allowed_kinds,
        required_right=section.required_right,
    )
    application.skip_authorization = section.first_party
    application.save()
    section.save()
    _record("oidc.client_changed", application, actor=actor, request=request, fields=list(changed))
    return section


@transaction.atomic
def section_remove(
    *, client_id: str, actor: Any = None, request: HttpRequest | None = None
) -> None:
    """Remove a section: its application, and with it every grant and token it holds."""
    section = section_of(client_id)
    application = section.application
    _record("oidc.client_removed", application, actor=actor, request=request)
    application.delete()


@transaction.atomic
def section_secret_rotate(
    *, client_id: str, actor: Any = None, request: HttpRequest | None = None
) -> str:
    """A new secret for a confidential section, returned once; the old one stops working."""
    section = section_of(client_id)
    application = section.application
    if application.client_type != Application.CLIENT_CONFIDENTIAL:
        raise SectionError(_("A public client has no secret to rotate."))
    secret = secrets.token_urlsafe(48)
    application.client_secret = secret  # hashed by django-oauth-toolkit on save
    application.save(update_fields=["client_secret", "updated"])
    _record("oidc.client_secret_rotated", application, actor=actor, request=request)
    return secret


def sections_list() -> list[Section]:
    return list(Section.objects.select_related("application").order_by("application__name"))
