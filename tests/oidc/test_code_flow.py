"""The authorization code flow with PKCE, driven by Authlib over HTTP against Vestibule: the
id_token checked against the JWKS (signature, iss, aud, nonce, exp), state echoed, claims by
scope, a stable subject, and auth_time telling when the member really signed in."""

import time

import pytest
import requests

from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import Browser, RelyingParty, query_of, section_register
from vestibule.audit.models import Event
from vestibule.coverage.models import CoverageRecord
from vestibule.establishments.services import establishment_create, membership_grant

pytestmark = pytest.mark.django_db(transaction=True)

# Claims every id_token carries whatever the scope (OpenID Connect Core §2), and ours.
ID_TOKEN_FRAME = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "jti", "at_hash", "sub"}
ID_TOKEN_FRAME |= {"amr", "acr"}  # how the member signed in, and the level it reached


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
    kinds = set(Event.objects.values_list("kind", flat=True))
    assert {"oidc.authorized", "oidc.token_issued"} <= kinds


def test_a_public_client_signs_in_with_pkce_and_no_secret(live_server):
    make_account()
    application, _ = section_register(public=True)
    rp = RelyingParty(live_server.url, application.client_id)
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    token = rp.token(callback)
    assert rp.id_claims(token)["email"] == "marie@example.org"


def test_a_public_client_without_the_code_verifier_gets_no_token(live_server):
    make_account()
    application, _ = section_register(public=True)
    rp = RelyingParty(live_server.url, application.client_id)
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    answer = requests.post(
        rp.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": query_of(callback)["code"],
            "redirect_uri": rp.redirect_uri,
            "client_id": rp.client_id,
        },
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_a_wrong_code_verifier_gets_no_token(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    rp.verifier = "a-different-verifier-of-the-right-length-0123456789"
    with pytest.raises(Exception, match="invalid_grant"):
        rp.token(callback)


def test_a_confidential_client_may_go_without_pkce(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    rp.oauth.code_challenge_method = None
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    token = rp.oauth.fetch_token(rp.metadata["token_endpoint"], authorization_response=callback)
    assert rp.id_claims(token)["sub"]


@pytest.mark.parametrize(
    "scope,expected",
    [
        ("openid", set()),
        ("openid profile", {"given_name", "family_name", "name", "locale"}),
        ("openid email", {"email", "email_verified"}),
        ("openid membership", {"member_kind", "licence", "region"}),
    ],
)
def test_each_scope_releases_its_claims_and_no_others(live_server, scope, expected):
    make_account(code="123456", region="qc")
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret, scope=scope)
    token = rp.token(rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD))
    assert set(rp.id_claims(token)) == ID_TOKEN_FRAME | expected
    assert set(rp.userinfo()) == {"sub"} | expected


def test_membership_tells_the_establishments_and_their_rights(live_server, use_profile):
    use_profile("extranet")
    account = make_account(kind="user")
    owner = make_account(email="owner@example.org", kind="user")
    hotel = establishment_create(name="Hôtel du Lac", owner=owner, public_id="LAC01")
    membership_grant(account=account, establishment=hotel, rights=["reservations", "rates"])
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret, scope="openid membership")
    token = rp.token(rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD))
    claims = rp.id_claims(token)
    assert claims["member_kind"] == "user"
    (entry,) = claims["establishments"]
    assert entry["id"] == "LAC01" and entry["name"] == "Hôtel du Lac"
    assert set(entry["rights"]) == {"reservations", "rates"}
    assert rp.userinfo()["establishments"] == claims["establishments"]


def test_membership_tells_the_coverage_where_the_profile_has_it(live_server, use_profile):
    use_profile("telehealth")
    account = make_account(region="qc")
    CoverageRecord.objects.create(
        region="qc", plan="Groupe 42", first_name="Marie", last_name="Tremblay", account=account
    )
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret, scope="openid membership")
    token = rp.token(rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD))
    claims = rp.id_claims(token)
    assert claims["coverage"] == {"status": "covered", "plan": "Groupe 42", "region": "qc"}
    assert claims["region"] == "qc"


def test_the_subject_is_stable_across_sign_ins_and_never_an_identifier(live_server):
    account = make_account(code="123456")
    application, secret = section_register()
    subjects = []
    for _ in range(2):
        rp = RelyingParty(live_server.url, application.client_id, secret)
        token = rp.token(
            rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
        )
        subjects.append(rp.id_claims(token)["sub"])
    assert subjects[0] == subjects[1]
    assert subjects[0] not in {account.email, account.code, str(account.pk), account.get_username()}


def test_a_nonce_is_bound_into_the_id_token(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    token = rp.token(rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD))
    rp.nonce = "another-nonce"  # a replayed id_token for another request
    with pytest.raises(Exception, match="nonce"):
        rp.id_claims(token)


def test_a_tampered_id_token_fails_the_jwks_check(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    token = rp.token(rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD))
    header, payload, signature = token["id_token"].split(".")
    forged = {**token, "id_token": f"{header}.{payload}.{signature[:-6]}AAAAAA"}
    with pytest.raises(Exception, match=r"(?i)signature"):
        rp.id_claims(forged)


# --- auth_time, prompt=login, max_age ---


def test_auth_time_is_when_the_member_signed_in_not_when_the_code_was_issued(live_server):
    make_account()
    application, secret = section_register()
    browser = Browser(live_server.url)
    before = int(time.time())
    rp = RelyingParty(live_server.url, application.client_id, secret)
    first = rp.id_claims(rp.token(rp.sign_in_through(browser, "marie@example.org", PASSWORD)))
    assert before <= first["auth_time"] <= int(time.time())
    time.sleep(1.1)
    # Single sign-on later: no new sign-in, so the same auth_time.
    again = RelyingParty(live_server.url, application.client_id, secret)
    second = again.id_claims(again.token(again.sign_in_through(browser, "x", "not asked")))
    assert second["auth_time"] == first["auth_time"] and second["iat"] > first["auth_time"]


def test_prompt_login_makes_the_member_sign_in_again(live_server):
    make_account()
    application, secret = section_register()
    browser = Browser(live_server.url)
    rp = RelyingParty(live_server.url, application.client_id, secret)
    first = rp.id_claims(rp.token(rp.sign_in_through(browser, "marie@example.org", PASSWORD)))
    time.sleep(1.1)
    again = RelyingParty(live_server.url, application.client_id, secret)
    url = again.authorization_url(prompt="login")
    asked = browser.session.get(url, allow_redirects=False)
    assert asked.is_redirect and asked.headers["Location"].startswith("/login/")
    next_path = query_of(asked.headers["Location"])["next"]
    assert "prompt" not in query_of(next_path)
    # Skipping the sign-in page (going straight back) does not get a code.
    skipped = browser.session.get(live_server.url + next_path, allow_redirects=False)
    assert skipped.headers["Location"].startswith("/login/")
    assert browser.sign_in("marie@example.org", PASSWORD, next_path=next_path).status_code == 302
    callback = again.callback_of(browser.follow_to_callback(live_server.url + next_path))
    second = again.id_claims(again.token(callback))
    assert second["auth_time"] > first["auth_time"]
    assert second["sub"] == first["sub"]


def test_max_age_older_than_the_sign_in_asks_for_it_again(live_server):
    make_account()
    application, secret = section_register()
    browser = Browser(live_server.url)
    rp = RelyingParty(live_server.url, application.client_id, secret)
    first = rp.id_claims(rp.token(rp.sign_in_through(browser, "marie@example.org", PASSWORD)))
    # A generous max_age: the session is fresh enough, no page.
    fresh = RelyingParty(live_server.url, application.client_id, secret)
    direct = browser.session.get(fresh.authorization_url(max_age="3600"), allow_redirects=False)
    assert direct.headers["Location"].startswith(fresh.redirect_uri)
    time.sleep(2.1)
    stale = RelyingParty(live_server.url, application.client_id, secret)
    asked = browser.session.get(stale.authorization_url(max_age="1"), allow_redirects=False)
    assert asked.headers["Location"].startswith("/login/")
    next_path = query_of(asked.headers["Location"])["next"]
    assert browser.sign_in("marie@example.org", PASSWORD, next_path=next_path).status_code == 302
    callback = stale.callback_of(browser.follow_to_callback(live_server.url + next_path))
    second = stale.id_claims(stale.token(callback))
    assert second["auth_time"] >= first["auth_time"] + 2


def test_prompt_none_with_a_session_signs_in_silently(live_server):
    make_account()
    application, secret = section_register()
    browser = Browser(live_server.url)
    rp = RelyingParty(live_server.url, application.client_id, secret)
    rp.sign_in_through(browser, "marie@example.org", PASSWORD)
    silent = RelyingParty(live_server.url, application.client_id, secret)
    response = browser.session.get(silent.authorization_url(prompt="none"), allow_redirects=False)
    assert "code" in query_of(silent.callback_of(response))


def test_prompt_none_with_a_stale_session_answers_login_required(live_server):
    make_account()
    application, secret = section_register()
    browser = Browser(live_server.url)
    RelyingParty(live_server.url, application.client_id, secret).sign_in_through(
        browser, "marie@example.org", PASSWORD
    )
    time.sleep(1.1)
    silent = RelyingParty(live_server.url, application.client_id, secret)
    url = silent.authorization_url(prompt="none", max_age="0")
    answer = query_of(silent.callback_of(browser.session.get(url, allow_redirects=False)))
    assert answer["error"] == "login_required" and "code" not in answer
