"""The authorization code flow with PKCE, driven by Authlib over HTTP against Vestibule."""

import pytest

from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import Browser, RelyingParty, section_register

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_member_signs_in_to_a_section_and_it_learns_who_they_are(live_server):
    account = make_account(code="123456", region="qc")
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)

    first = browser.session.get(rp.authorization_url(), allow_redirects=False)
    assert first.status_code == 302 and "/login/" in first.headers["Location"]
    signed_in = browser.sign_in(
        "marie@example.org", PASSWORD, next_path=first.headers["Location"].split("next=", 1)[1]
    )
    assert signed_in.status_code == 302
    callback = rp.callback_of(browser.follow_to_callback(rp.authorization_url()))
    token = rp.token(callback)
    claims = rp.id_claims(token)
    assert claims["sub"] not in {account.email, account.code, str(account.pk)}
    assert claims["email"] == "marie@example.org"
    info = rp.userinfo()
    assert info["sub"] == claims["sub"]
    assert info["licence"] == "123456" and info["given_name"] == "Marie"
