"""Signing out everywhere: OpenID Connect Back-Channel Logout 1.0, which
django-oauth-toolkit lacks, and its RP-initiated logout wired to it.

When a member's Vestibule session ends (sign-out, a section's end_session request, a
password change or reset, "sign out everywhere"), every section that issued this member
a token still live hears of it: a logout token (a JWT signed RS256 by the active OIDC
key, the `kid` of the JWKS) is POSTed to its `backchannel_logout_uri`, and the member's
tokens are revoked at the same time (refresh tokens revoked, access and ID tokens and
unredeemed codes deleted), so no section keeps a way in.

Deliveries are queued like the e-mail outbox (notifications/services.py): a row written
in the transaction of the sign-out, sent after commit by a thread of its own (no page
waits for a section), retried by `send-mail` with back-off while the section is down or
refuses, given up (audited) after MAX_ATTEMPTS. States READY → SENDING → SENT, or back to
READY; claims use SKIP LOCKED, and a sender that died mid-send is reclaimed after
CLAIM_TIMEOUT. The token is signed when it is sent, so its short `exp` holds on a retry.
"""

import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from jwcrypto import jwt
from oauth2_provider.models import (
    get_access_token_model,
    get_application_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.utils import jwk_from_pem
from oauth2_provider.views import ConnectDiscoveryInfoView, RPInitiatedLogoutView

from vestibule.accounts.models import Account
from vestibule.audit.services import event_record
from vestibule.oidc.claims import subject_of
from vestibule.oidc.models import LogoutDelivery, Section
from vestibule.queues import backoff, claim_due, in_background

log = logging.getLogger(__name__)

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token is good for two minutes after it is signed (it is signed on each attempt).
TOKEN_LIFETIME = 120
# A section that answers nothing within this many seconds is tried again later.
POST_TIMEOUT = 5.0
# 30 s, 1 min, 2 min… then hourly: 24 attempts try for about a day.
MAX_ATTEMPTS = 24
CLAIM_TIMEOUT = timedelta(minutes=10)


def issuer_of(request: HttpRequest | None) -> str:
    """The issuer the member's tokens carry: configured, else the address of the request."""
    if oauth2_settings.OIDC_ISS_ENDPOINT:
        return oauth2_settings.OIDC_ISS_ENDPOINT
    if request is not None:
        return oauth2_settings.oidc_issuer(request)
    return f"{settings.VESTIBULE_BASE_URL}/o"


def applications_signed_in(account: Account) -> set[int]:
    """The clients that issued `account` a token still live: where the member has a session."""
    now = timezone.now()
    live = set(
        get_access_token_model()
        .objects.filter(user=account, expires__gt=now, application__isnull=False)
        .values_list("application_id", flat=True)
    )
    live |= set(
        get_refresh_token_model()
        .objects.filter(user=account, revoked__isnull=True)
        .values_list("application_id", flat=True)
    )
    live |= set(
        get_id_token_model()
        .objects.filter(user=account, expires__gt=now, application__isnull=False)
        .values_list("application_id", flat=True)
    )
    return live


def tokens_revoke(account: Account) -> None:
    """Every token of `account`: refresh tokens revoked (their access tokens go with them),
    the other access tokens, the ID tokens and the unredeemed codes deleted."""
    for refresh in get_refresh_token_model().objects.filter(user=account, revoked__isnull=True):
        refresh.revoke()
    get_access_token_model().objects.filter(user=account).delete()
    get_id_token_model().objects.filter(user=account).delete()
    get_grant_model().objects.filter(user=account).delete()


@transaction.atomic
def backchannel_logout(
    *, account: Account, request: HttpRequest | None = None, reason: str
) -> list[LogoutDelivery]:
    """Queue a logout token for every section where `account` has a session, and revoke
    its tokens; the tokens leave after commit. Calling it again finds nothing left to do."""
    applications = applications_signed_in(account)
    if not applications:
        return []
    sections = list(
        Section.objects.filter(application_id__in=applications)
        .exclude(backchannel_logout_uri="")
        .select_related("application")
    )
    sub = subject_of(account)
    issuer = issuer_of(request)
    deliveries = [
        LogoutDelivery.objects.create(
            section=section,
            account=account,
            sub=sub,
            issuer=issuer,
            jti=secrets.token_urlsafe(24),
            reason=reason,
        )
        for section in sections
    ]
    tokens_revoke(account)
    clients = sorted(
        get_application_model()
        .objects.filter(pk__in=applications)
        .values_list("client_id", flat=True)
    )
    event_record(
        "oidc.signed_out",
        request=request,
        account=account,
        reason=reason,
        clients=clients,
        backchannel=[delivery.section.application.client_id for delivery in deliveries],
    )
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: in_background(deliveries_send, ids, name="vestibule-logout"))
    return deliveries


def logout_token(delivery: LogoutDelivery, *, now: int | None = None) -> str:
    """The signed logout token (Back-Channel Logout 1.0 §2.4): no nonce, the event claim."""
    key = jwk_from_pem(oauth2_settings.OIDC_RSA_PRIVATE_KEY)
    issued = int(now if now is not None else time.time())
    token = jwt.JWT(
        # The kid of DOT's JWKS (jwks-info): the key's thumbprint.
        header={"alg": "RS256", "typ": "logout+jwt", "kid": key.thumbprint()},
        claims={
            "iss": delivery.issuer,
            "aud": delivery.section.application.client_id,
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME,
            "jti": delivery.jti,
            "sub": delivery.sub,
            "events": {BACKCHANNEL_EVENT: {}},
        },
    )
    token.make_signed_token(key)
    return token.serialize()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A section answers the POST itself; a redirect is a failure, never followed elsewhere.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(delivery: LogoutDelivery) -> None:
    """POST the token; raises unless the section answers 2xx (§2.8: 200, or 204)."""
    uri = delivery.section.backchannel_logout_uri
    if urlparse(uri).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) address: {uri!r}")
    body = urlencode({"logout_token": logout_token(delivery)}).encode()
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        uri,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with _opener.open(request, timeout=POST_TIMEOUT) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(
                delivery.section.backchannel_logout_uri,
                response.status,
                "not a 2xx answer",
                response.headers,
                None,
            )


def _postpone(delivery: LogoutDelivery, error: Exception) -> None:
    attempts = delivery.attempts + 1
    given_up = attempts >= MAX_ATTEMPTS
    LogoutDelivery.objects.filter(pk=delivery.pk).update(
        state=LogoutDelivery.State.FAILED if given_up else LogoutDelivery.State.READY,
        attempts=attempts,
        next_attempt_at=timezone.now() + backoff(attempts),
        claimed_at=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    log.warning(
        "back-channel logout to %s not delivered (attempt %d): %s",
        delivery.section.backchannel_logout_uri,
        attempts,
        error,
    )
    if given_up:
        event_record(
            "oidc.backchannel_logout_failed",
            account=delivery.account,
            subject=delivery.sub,
            client=delivery.section.application.client_id,
            attempts=attempts,
            error=f"{type(error).__name__}: {error}"[:300],
        )


def deliveries_send(*, ids: Iterable[int] | None = None, limit: int = 100) -> tuple[int, int]:
    """POST the due logout tokens (or only `ids`); (sent, failed). Never raises on a
    section's failure: each section is tried on its own, one down does not hold the others."""
    claimed = claim_due(LogoutDelivery.objects, claim_timeout=CLAIM_TIMEOUT, limit=limit, ids=ids)
    sent = failed = 0
    for delivery in claimed:
        delivery = LogoutDelivery.objects.select_related("section__application", "account").get(
            pk=delivery.pk
        )
        try:
            _post(delivery)
        except Exception as error:  # unreachable, time-out, non-2xx: try again later
            failed += 1
            _postpone(delivery, error)
            continue
        sent += 1
        LogoutDelivery.objects.filter(pk=delivery.pk).update(
            state=LogoutDelivery.State.SENT,
            attempts=delivery.attempts + 1,
            sent_at=timezone.now(),
            claimed_at=None,
            last_error="",
        )
        event_record(
            "oidc.backchannel_logout_sent",
            account=delivery.account,
            subject=delivery.sub,
            client=delivery.section.application.client_id,
        )
    return sent, failed


class DiscoveryView(ConnectDiscoveryInfoView):
    """DOT's discovery document, which also says that sections may register a
    back-channel logout URI (no `sid`: the token names the member, every session ends)."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        response = super().get(request, *args, **kwargs)
        data = json.loads(response.content)
        data["backchannel_logout_supported"] = True
        data["backchannel_logout_session_supported"] = False
        augmented = JsonResponse(data)
        augmented["Access-Control-Allow-Origin"] = "*"
        return augmented


class LogoutView(RPInitiatedLogoutView):
    """DOT's end_session endpoint; the sections are told (back-channel) before DOT deletes
    the tokens that tell where the member has a session, then DOT ends the Vestibule
    session (Django's logout) and redirects to a registered post_logout_redirect_uri only."""

    def do_logout(
        self,
        application: Any = None,
        post_logout_redirect_uri: str | None = None,
        state: str | None = None,
        token_user: Any = None,
    ) -> Any:
        user = token_user or self.request.user
        if getattr(user, "is_authenticated", False):
            event_record(
                "oidc.rp_logout",
                request=self.request,
                account=user,
                client=application.client_id if application else "",
            )
            backchannel_logout(account=user, request=self.request, reason="rp_logout")
        return super().do_logout(application, post_logout_redirect_uri, state, token_user)
