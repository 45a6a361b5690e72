"""The token endpoint and the tokens, over HTTP with a real RP library: a code is good once
(a second use revokes what the first got), expires, needs the right secret; refresh tokens
rotate and a replayed one revokes its family; access tokens expire; introspection (RFC 7662)
for a confidential client's own tokens; revocation (RFC 7009). Everything audited."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from oauth2_provider.models import AccessToken, Grant, RefreshToken

from tests.concurrency import at_once
from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import Browser, RelyingParty, query_of, section_register
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def signed_in(live_server):
    """A confidential section, and a callback carrying a fresh code for Marie."""
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    return rp, callback


def exchange(rp: RelyingParty, callback: str, secret: str | None = None) -> requests.Response:
    return requests.post(
        rp.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query_of(callback)["code"],
            "redirect_uri": rp.redirect_uri,
            "code_verifier": rp.verifier,
        },
        auth=(rp.client_id, rp.client_secret if secret is None else secret),
    )


def kinds() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("kind", flat=True))


def test_the_discovery_document_says_code_s256_introspection_and_revocation(live_server):
    meta = requests.get(f"{live_server.url}/o/.well-known/openid-configuration").json()
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["introspection_endpoint"] == f"{live_server.url}/o/introspect/"
    assert meta["revocation_endpoint"] == f"{live_server.url}/o/revoke_token/"
    assert "client_secret_basic" in meta["introspection_endpoint_auth_methods_supported"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "none",
    }
    assert {"sub", "auth_time", "establishments"} <= set(meta["claims_supported"])


# --- authorization codes ---


def test_a_code_used_twice_is_refused_and_the_tokens_it_gave_are_revoked(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    assert rp.userinfo_with(token["access_token"]).status_code == 200
    replay = exchange(rp, callback)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # RFC 6749 §4.1.2: what the first use got is revoked too.
    assert rp.userinfo_with(token["access_token"]).status_code == 401
    refreshed = rp.refresh(token["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()
    assert "oidc.code_reused" in kinds() and "oidc.token_refused" in kinds()


def test_a_code_raced_twice_gives_at_most_one_token_and_it_is_revoked(signed_in):
    rp, callback = signed_in
    first, second = at_once(lambda: exchange(rp, callback), lambda: exchange(rp, callback))
    statuses = sorted([first.status_code, second.status_code])
    assert statuses in ([200, 400], [400, 400]), statuses
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_an_expired_code_is_refused(signed_in):
    rp, callback = signed_in
    Grant.objects.update(expires=timezone.now() - timedelta(seconds=1))
    answer = exchange(rp, callback)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_a_code_lives_authorization_code_expire_seconds(signed_in, settings):
    grant = Grant.objects.get()
    lifetime = (grant.expires - grant.created).total_seconds()
    assert 55 <= lifetime <= 61


def test_a_wrong_client_secret_is_refused_with_401(signed_in):
    rp, callback = signed_in
    answer = exchange(rp, callback, secret="not-the-secret")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    refused = Event.objects.filter(kind="oidc.token_refused").last()
    assert refused.data["client"] == rp.client_id and refused.data["error"] == "invalid_client"
    # The code itself is still good for the real section.
    assert exchange(rp, callback).status_code == 200


def test_another_clients_code_is_refused(live_server, signed_in):
    rp, callback = signed_in
    other, other_secret = section_register(name="Autre")
    thief = RelyingParty(live_server.url, other.client_id, other_secret)
    thief.verifier = rp.verifier
    answer = exchange(thief, callback)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


# --- refresh tokens and access tokens ---


def test_refresh_tokens_rotate_and_a_replayed_one_revokes_the_family(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    first = rp.refresh(token["refresh_token"])
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != token["refresh_token"]
    assert rotated["access_token"] != token["access_token"]
    assert "id_token" not in rotated  # its auth_time could not be told truly
    second = rp.refresh(rotated["refresh_token"])
    assert second.status_code == 200
    latest = second.json()
    assert len({token["refresh_token"], rotated["refresh_token"], latest["refresh_token"]}) == 3
    # The old one again: refused, and the whole family with it (a thief or the section:
    # one of them holds a stolen token).
    replay = rp.refresh(token["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert rp.refresh(latest["refresh_token"]).status_code == 400
    assert rp.userinfo_with(latest["access_token"]).status_code == 401


def test_access_tokens_expire(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    assert token["expires_in"] == 600
    assert rp.userinfo_with(token["access_token"]).status_code == 200
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert rp.userinfo_with(token["access_token"]).status_code == 401


def test_tokens_are_stored_hashed(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    stored = AccessToken.objects.get()
    assert token["access_token"] not in {stored.token, stored.token_checksum}
    assert not RefreshToken.objects.filter(token=token["refresh_token"]).exists()


# --- introspection (RFC 7662) ---


def test_a_confidential_client_introspects_its_own_tokens(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    sub = rp.id_claims(token)["sub"]
    access = rp.introspect(token["access_token"])
    assert access.status_code == 200
    data = access.json()
    assert data["active"] is True and data["client_id"] == rp.client_id
    assert data["sub"] == sub and "username" not in data
    assert "marie@example.org" not in access.text
    assert data["scope"].split() == rp.scope.split() or set(data["scope"].split()) == set(
        rp.scope.split()
    )
    refresh = rp.introspect(token["refresh_token"]).json()
    assert refresh["active"] is True and refresh["sub"] == sub
    assert rp.introspect("not-a-token").json() == {"active": False}


def test_a_client_learns_nothing_of_another_clients_tokens(live_server, signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    other, other_secret = section_register(name="Autre")
    other_rp = RelyingParty(live_server.url, other.client_id, other_secret)
    assert other_rp.introspect(token["access_token"]).json() == {"active": False}


def test_public_clients_and_wrong_secrets_may_not_introspect(live_server, signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    public, _ = section_register(name="Publique", public=True)
    for auth in [(public.client_id, ""), (rp.client_id, "wrong"), ("unknown", "x")]:
        answer = rp.introspect(token["access_token"], auth=auth)
        assert answer.status_code == 401 and answer.json() == {"error": "invalid_client"}
    bearer = requests.post(
        rp.metadata["introspection_endpoint"],
        data={"token": token["access_token"]},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert bearer.status_code == 401
    assert kinds().count("oidc.introspection_refused") == 4


# --- revocation (RFC 7009) ---


def test_revoking_the_refresh_token_ends_the_session_at_the_section(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    assert rp.revoke(token["refresh_token"], hint="refresh_token").status_code == 200
    assert rp.introspect(token["refresh_token"]).json() == {"active": False}
    assert rp.refresh(token["refresh_token"]).status_code == 400
    assert "oidc.token_revoked" in kinds()


def test_revoking_the_access_token_makes_it_inactive(signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    assert rp.revoke(token["access_token"]).status_code == 200
    assert rp.introspect(token["access_token"]).json() == {"active": False}
    assert rp.userinfo_with(token["access_token"]).status_code == 401


def test_revocation_needs_the_clients_secret_and_touches_only_its_tokens(live_server, signed_in):
    rp, callback = signed_in
    token = rp.token(callback)
    wrong = requests.post(
        rp.metadata["revocation_endpoint"],
        data={"token": token["access_token"]},
        auth=(rp.client_id, "wrong"),
    )
    assert wrong.status_code == 401
    other, other_secret = section_register(name="Autre")
    RelyingParty(live_server.url, other.client_id, other_secret).revoke(token["access_token"])
    assert rp.userinfo_with(token["access_token"]).status_code == 200
    assert "oidc.revocation_refused" in kinds()
