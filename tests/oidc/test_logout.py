"""Signing out everywhere: RP-initiated logout (end_session) and OpenID Connect Back-Channel
Logout 1.0, driven over HTTP against the running server; each section's back-channel URI is
a real listening HTTP server, and the logout tokens it receives are verified with the JWKS
that discovery publishes."""

import re
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urljoin

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.factories import PASSWORD, make_account
from tests.flows.walk import answer, last_link, start
from tests.oidc.relying_party import REDIRECT_URI, Browser, RelyingParty, section_register
from vestibule.audit.models import Event
from vestibule.oidc import logout
from vestibule.oidc.models import LogoutDelivery

pytestmark = pytest.mark.django_db(transaction=True)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
NEW = "a fresh passphrase 2026"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SectionServer:
    """A section's back-channel logout endpoint: a real HTTP server on loopback that keeps
    what it was sent, and can be started on a port that was closed until then."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/backchannel-logout"

    def start(self) -> "SectionServer":
        received, lock = self.received, self.lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                with lock:
                    received.append(
                        {
                            "path": self.path,
                            "content_type": self.headers.get("Content-Type"),
                            "form": {k: v[0] for k, v in parse_qs(body).items()},
                        }
                    )
                self.send_response(200)
                self.send_header("Cache-Control", "no-store")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def wait(self, count: int = 1, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.05)
        raise AssertionError(f"{self.url} received {len(self.received)} of {count} POSTs")


@contextmanager
def section_server(port: int | None = None):
    server = SectionServer(port).start()
    try:
        yield server
    finally:
        server.stop()


def sign_in_to(rp: RelyingParty, browser: Browser, *, first: bool = True) -> dict:
    """The member signs in to the section (on Vestibule's page the first time, by single
    sign-on after); the section's tokens, with the ID token's verified claims."""
    if first:
        asked = browser.session.get(rp.authorization_url(), allow_redirects=False)
        assert "/login/" in asked.headers["Location"]
        signed_in = browser.sign_in(
            "marie@example.org", PASSWORD, next_path=asked.headers["Location"].split("next=")[1]
        )
        assert signed_in.status_code == 302
    token = rp.token(rp.callback_of(browser.follow_to_callback(rp.authorization_url())))
    token["claims"] = rp.id_claims(token)
    return token


def csrf_of(browser: Browser, path: str) -> str:
    page = browser.session.get(urljoin(browser.base, path))
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def post_form(browser: Browser, path: str, data: dict, page: str | None = None):
    token = csrf_of(browser, page or path)
    return browser.session.post(
        urljoin(browser.base, path),
        data={**data, "csrfmiddlewaretoken": token},
        headers={"Referer": urljoin(browser.base, page or path)},
        allow_redirects=False,
    )


def signed_in(browser: Browser) -> bool:
    response = browser.session.get(urljoin(browser.base, "/account/"), allow_redirects=False)
    return response.status_code == 200


def verified_logout_token(
    received: dict, *, base: str, client_id: str, sub: str, issuer: str | None = None
) -> dict:
    """The logout token checked as a section must (Back-Channel Logout 1.0 §2.6), with the
    keys published by Vestibule's discovery document."""
    assert received["content_type"] == "application/x-www-form-urlencoded"
    metadata = requests.get(f"{base}/o/.well-known/openid-configuration").json()
    keys = KeySet.import_key_set(requests.get(metadata["jwks_uri"]).json())
    token = jwt.decode(received["form"]["logout_token"], keys, algorithms=["RS256"])
    assert token.header["typ"] == "logout+jwt"
    assert token.header["kid"] in {key["kid"] for key in keys.as_dict()["keys"]}
    jwt.JWTClaimsRegistry(
        leeway=5,
        iss={"essential": True, "value": issuer or metadata["issuer"]},
        aud={"essential": True, "value": client_id},
        sub={"essential": True, "value": sub},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(token.claims)
    claims = token.claims
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert abs(claims["iat"] - time.time()) < 60
    return claims


def refresh_refused(rp: RelyingParty, token: dict) -> bool:
    try:
        rp.oauth.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    except OAuthError as error:
        return error.error == "invalid_grant"
    return False


def test_discovery_says_back_channel_logout_is_supported(live_server):
    metadata = requests.get(f"{live_server.url}/o/.well-known/openid-configuration").json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is False
    assert metadata["end_session_endpoint"] == f"{live_server.url}/o/logout/"


def test_signing_out_of_vestibule_posts_a_signed_logout_token_and_revokes_the_tokens(
    live_server,
):
    make_account()
    with section_server() as section, section_server() as never_visited:
        application, secret = section_register(backchannel_logout_uri=section.url)
        other, _ = section_register(name="Autre", backchannel_logout_uri=never_visited.url)
        rp = RelyingParty(live_server.url, application.client_id, secret)
        browser = Browser(live_server.url)
        token = sign_in_to(rp, browser)

        out = post_form(browser, "/logout/", {}, page="/account/")
        assert out.status_code == 302
        assert not signed_in(browser)

        (received,) = section.wait()
        verified_logout_token(
            received,
            base=live_server.url,
            client_id=application.client_id,
            sub=token["claims"]["sub"],
        )
        # The section where the member never signed in hears nothing.
        time.sleep(0.5)
        assert never_visited.received == []
        assert not LogoutDelivery.objects.filter(section__application=other).exists()

    # The section's tokens are dead: no new access token, and the old one opens nothing.
    assert refresh_refused(rp, token)
    assert rp.oauth.get(rp.metadata["userinfo_endpoint"]).status_code == 401
    delivery = LogoutDelivery.objects.get()
    assert delivery.state == LogoutDelivery.State.SENT and delivery.reason == "sign_out"
    assert Event.objects.filter(kind="oidc.backchannel_logout_sent").count() == 1
    assert Event.objects.filter(kind="oidc.signed_out").exists()


def test_every_section_signed_into_hears_of_it_and_a_second_sign_out_sends_nothing(live_server):
    make_account()
    with section_server() as first, section_server() as second:
        app1, secret1 = section_register(backchannel_logout_uri=first.url)
        app2, secret2 = section_register(name="Deuxième", backchannel_logout_uri=second.url)
        browser = Browser(live_server.url)
        token1 = sign_in_to(RelyingParty(live_server.url, app1.client_id, secret1), browser)
        token2 = sign_in_to(
            RelyingParty(live_server.url, app2.client_id, secret2), browser, first=False
        )
        assert token1["claims"]["sub"] == token2["claims"]["sub"]
        post_form(browser, "/logout/", {}, page="/account/")
        for server, app in ((first, app1), (second, app2)):
            (received,) = server.wait()
            verified_logout_token(
                received, base=live_server.url, client_id=app.client_id, sub=token1["claims"]["sub"]
            )
        # Signed in at Vestibule again, no section visited: signing out tells no section.
        again = Browser(live_server.url)
        again.sign_in("marie@example.org", PASSWORD)
        post_form(again, "/logout/", {}, page="/account/")
        assert not signed_in(again)
        time.sleep(0.3)
        assert LogoutDelivery.objects.count() == 2
        assert len(first.received) == len(second.received) == 1


def test_a_section_that_is_down_receives_the_token_once_it_is_back(live_server):
    make_account()
    port = free_port()  # nothing listens there yet: the section is down
    down = f"http://127.0.0.1:{port}/backchannel-logout"
    application, secret = section_register(backchannel_logout_uri=down)
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    token = sign_in_to(rp, browser)
    started = time.monotonic()
    post_form(browser, "/logout/", {}, page="/account/")
    assert time.monotonic() - started < 3  # the page did not wait for the section

    deadline = time.monotonic() + 10
    while LogoutDelivery.objects.get().attempts == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    delivery = LogoutDelivery.objects.get()
    assert delivery.state == LogoutDelivery.State.READY and delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now()  # backed off
    assert delivery.last_error

    with section_server(port) as section:
        call_command("send_mail", "--once")
        assert section.received == []  # not due yet: the back-off holds
        LogoutDelivery.objects.update(next_attempt_at=timezone.now())  # the back-off elapses
        call_command("send_mail", "--once")
        (received,) = section.wait()
        verified_logout_token(
            received,
            base=live_server.url,
            client_id=application.client_id,
            sub=token["claims"]["sub"],
        )
    delivery.refresh_from_db()
    assert delivery.state == LogoutDelivery.State.SENT and delivery.attempts == 2


def test_a_section_down_for_good_is_given_up_after_the_last_attempt_and_audited(live_server):
    make_account()
    application, secret = section_register(
        backchannel_logout_uri=f"http://127.0.0.1:{free_port()}/backchannel-logout"
    )
    browser = Browser(live_server.url)
    sign_in_to(RelyingParty(live_server.url, application.client_id, secret), browser)
    post_form(browser, "/logout/", {}, page="/account/")
    deadline = time.monotonic() + 10
    while LogoutDelivery.objects.get().attempts == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    LogoutDelivery.objects.update(
        attempts=logout.MAX_ATTEMPTS - 1, next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert logout.deliveries_send() == (0, 1)
    delivery = LogoutDelivery.objects.get()
    assert delivery.state == LogoutDelivery.State.FAILED
    assert Event.objects.filter(kind="oidc.backchannel_logout_failed").count() == 1
    assert logout.deliveries_send() == (0, 0)  # never tried again


def test_rp_initiated_logout_ends_the_vestibule_session_and_tells_the_sections(live_server):
    make_account()
    with section_server() as first, section_server() as second:
        app1, secret1 = section_register(backchannel_logout_uri=first.url)
        app2, secret2 = section_register(name="Deuxième", backchannel_logout_uri=second.url)
        rp = RelyingParty(live_server.url, app1.client_id, secret1)
        rp2 = RelyingParty(live_server.url, app2.client_id, secret2)
        browser = Browser(live_server.url)
        token = sign_in_to(rp, browser)
        token2 = sign_in_to(rp2, browser, first=False)

        ended = browser.session.get(
            rp.metadata["end_session_endpoint"],
            params={
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": REDIRECT_URI,
                "state": "bye-123",
            },
            allow_redirects=False,
        )
        assert ended.status_code == 302
        assert ended.headers["Location"] == f"{REDIRECT_URI}?state=bye-123"
        assert not signed_in(browser)  # the Vestibule session is gone
        sub = token["claims"]["sub"]
        verified_logout_token(
            first.wait()[0], base=live_server.url, client_id=app1.client_id, sub=sub
        )
        verified_logout_token(
            second.wait()[0], base=live_server.url, client_id=app2.client_id, sub=sub
        )
    assert refresh_refused(rp, token) and refresh_refused(rp2, token2)
    assert Event.objects.filter(kind="oidc.rp_logout", data__client=app1.client_id).exists()
    assert LogoutDelivery.objects.filter(reason="rp_logout").count() == 2


@pytest.mark.parametrize(
    "uri",
    [
        "https://attacker.example/",
        "http://section.example/callback/../evil",
        "http://section.example/callback?next=https://attacker.example/",
        "http://section.example/other",
    ],
)
def test_end_session_refuses_an_unregistered_post_logout_redirect_uri(live_server, uri):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    token = sign_in_to(rp, browser)
    params = {"id_token_hint": token["id_token"], "post_logout_redirect_uri": uri}
    refused = browser.session.get(
        rp.metadata["end_session_endpoint"], params=params, allow_redirects=False
    )
    assert refused.status_code == 400
    assert "Location" not in refused.headers  # no open redirect
    assert "Cette demande de déconnexion ne peut pas être traitée" in refused.text
    assert signed_in(browser)  # nothing was ended
    assert not refresh_refused(rp, token)


def test_end_session_without_a_hint_asks_first_in_the_members_language(live_server):
    make_account()
    application, secret = section_register()
    browser = Browser(live_server.url)
    sign_in_to(RelyingParty(live_server.url, application.client_id, secret), browser)
    asked = browser.session.get(f"{live_server.url}/o/logout/")
    assert asked.status_code == 200
    assert "Se déconnecter ?" in asked.text and 'class="site-header"' in asked.text  # our layout
    stayed = post_form(browser, "/o/logout/", {}, page="/o/logout/")
    assert stayed.status_code == 400 and signed_in(browser)  # « Rester connecté »
    confirmed = post_form(browser, "/o/logout/", {"allow": "1"}, page="/o/logout/")
    assert confirmed.status_code == 302 and not signed_in(browser)

    browser = Browser(live_server.url)
    browser.session.cookies.set(django_settings.LANGUAGE_COOKIE_NAME, "en")
    browser.sign_in("marie@example.org", PASSWORD)
    asked = browser.session.get(f"{live_server.url}/o/logout/")
    assert "Sign out?" in asked.text and "Stay signed in" in asked.text
    refused = browser.session.get(
        f"{live_server.url}/o/logout/",
        params={
            "client_id": application.client_id,
            "post_logout_redirect_uri": "https://x.example/",
        },
    )
    assert refused.status_code == 400
    assert "This sign-out request cannot be answered" in refused.text


def test_sign_out_everywhere_ends_every_session_and_tells_the_sections(live_server):
    account = make_account()
    with section_server() as section:
        application, secret = section_register(backchannel_logout_uri=section.url)
        rp = RelyingParty(live_server.url, application.client_id, secret)
        browser = Browser(live_server.url)
        token = sign_in_to(rp, browser)
        elsewhere = Browser(live_server.url)
        elsewhere.sign_in("marie@example.org", PASSWORD)
        assert signed_in(elsewhere)

        page = browser.session.get(f"{live_server.url}/account/").text
        assert "Se déconnecter partout" in page
        done = post_form(browser, "/logout/everywhere/", {}, page="/account/")
        assert done.status_code == 302
        assert not signed_in(browser) and not signed_in(elsewhere)
        verified_logout_token(
            section.wait()[0],
            base=live_server.url,
            client_id=application.client_id,
            sub=token["claims"]["sub"],
        )
    assert refresh_refused(rp, token)
    assert LogoutDelivery.objects.get().reason == "everywhere"
    event = Event.objects.get(kind="account.signed_out_everywhere")
    assert event.account == account and event.data["by"] == account.email
    # Signing in again works: the new session belongs to the new generation.
    again = Browser(live_server.url)
    again.sign_in("marie@example.org", PASSWORD)
    assert signed_in(again)


def test_sign_out_everywhere_is_a_post_and_the_button_speaks_both_languages():
    make_account()
    client = Client()
    client.post("/login/", {"identifier": "marie@example.org", "password": PASSWORD})
    assert "Se déconnecter partout" in client.get("/account/").content.decode()
    assert client.get("/logout/everywhere/").status_code == 405
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/account/").content.decode()
    assert "Sign out everywhere" in page
    done = client.post("/logout/everywhere/", follow=True)
    assert "You are signed out everywhere." in done.content.decode()


def test_a_password_change_tells_the_sections(live_server):
    make_account()
    with section_server() as section:
        application, secret = section_register(backchannel_logout_uri=section.url)
        rp = RelyingParty(live_server.url, application.client_id, secret)
        browser = Browser(live_server.url)
        token = sign_in_to(rp, browser)
        changed = post_form(
            browser,
            "/account/password/",
            {"current_password": PASSWORD, "password": NEW, "password_confirm": NEW},
        )
        assert changed.status_code == 302
        assert signed_in(browser)  # this session stays; the sections are signed out
        verified_logout_token(
            section.wait()[0],
            base=live_server.url,
            client_id=application.client_id,
            sub=token["claims"]["sub"],
        )
    assert refresh_refused(rp, token)
    assert LogoutDelivery.objects.get().reason == "password"


def test_a_password_reset_tells_the_sections(live_server):
    account = make_account()
    with section_server() as section:
        application, secret = section_register(backchannel_logout_uri=section.url)
        rp = RelyingParty(live_server.url, application.client_id, secret)
        token = sign_in_to(rp, Browser(live_server.url))
        client = Client()  # another browser, without a session: the recovery flow
        start(client, "recovery")
        answer(client, "recovery", identifier=account.email)
        client.get(last_link(account.email, "password_reset"))
        answer(client, "recovery", password=NEW, password_confirm=NEW)
        verified_logout_token(
            section.wait()[0],
            base=live_server.url,
            client_id=application.client_id,
            sub=token["claims"]["sub"],
            issuer="http://testserver/o",  # the issuer of the request that reset it
        )
    assert refresh_refused(rp, token)
    assert LogoutDelivery.objects.get().reason == "password"
