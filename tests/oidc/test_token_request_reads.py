"""The token request reads the code's Grant once (bench/RESULTS.md, OIDC): what the
shortcut must not lose is the code's binding to the section it was issued to."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import AccessToken, RefreshToken

from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import (
    REDIRECT_URI,
    Browser,
    RelyingParty,
    query_of,
    section_register,
)


@pytest.mark.django_db(transaction=True)
def test_a_code_is_refused_to_another_section_and_still_good_for_its_own(live_server):
    make_account()
    own, own_secret = section_register(name="Espace A")
    other, other_secret = section_register(name="Espace B")
    rp = RelyingParty(live_server.url, own.client_id, own_secret)
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    stolen = {
        "grant_type": "authorization_code",
        "code": query_of(callback)["code"],
        "redirect_uri": rp.redirect_uri,
        "code_verifier": rp.verifier,
    }
    answer = requests.post(
        rp.metadata["token_endpoint"], data=stolen, auth=(other.client_id, other_secret)
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    # Refused before any token is made for the other section (not made, then revoked).
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(application=other).exists()
    # The refusal did not use the code up: its own section still gets its tokens.
    assert "id_token" in rp.token(callback)


@pytest.mark.django_db
def test_the_token_request_reads_the_code_once():
    make_account()
    application, _ = section_register(public=True)
    browser = Client(HTTP_HOST="127.0.0.1")
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    authorize = "/o/authorize/?" + urlencode(
        {
            "response_type": "code",
            "client_id": application.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid profile email",
            "state": "s" * 16,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    signed_in = browser.post(
        f"/login/?next={authorize}", {"identifier": "marie@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 302
    code = query_of(browser.get(authorize)["Location"])["code"]
    with CaptureQueriesContext(connection) as queries:
        answer = Client(HTTP_HOST="127.0.0.1").post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
                "client_id": application.client_id,
            },
        )
    assert answer.status_code == 200, answer.content
    grant_reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT") and 'FROM "oauth2_provider_grant"' in q["sql"]
    ]
    # Ours, and DOT's resource (RFC 8707) check inside its token transaction; it was seven.
    assert len(grant_reads) <= 2, grant_reads
