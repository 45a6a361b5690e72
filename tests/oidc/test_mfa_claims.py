"""A section learns how the member signed in (`amr`) and the level reached (`acr`), and may
require a second factor: always (the section's setting) or for one request (`acr_values`)."""

import json
import re
from urllib.parse import urljoin

import pyotp
import pytest
from oauth2_provider.models import Grant

from tests.factories import PASSWORD, make_account
from tests.flows.mfa_helpers import app_enrol
from tests.oidc.relying_party import Browser, RelyingParty, query_of, section_register
from vestibule.oidc.claims import ACR_MULTI_FACTOR, ACR_SINGLE_FACTOR

pytestmark = pytest.mark.django_db(transaction=True)


def flow_answer(browser: Browser, base: str, code: str):
    """Answer the sign-in flow's page (a code, or the enrolment's first code)."""
    page = browser.session.get(urljoin(base, "/flow/sign_in/"))
    fields = dict(
        re.findall(r'name="(csrfmiddlewaretoken|flow_id|stage_index)" value="([^"]*)"', page.text)
    )
    return browser.session.post(
        urljoin(base, "/flow/sign_in/"),
        data={**fields, "code": code},
        headers={"Referer": urljoin(base, "/flow/sign_in/")},
        allow_redirects=False,
    )


def secret_on(browser: Browser, base: str) -> str:
    page = browser.session.get(urljoin(base, "/flow/sign_in/")).text
    return re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def test_a_password_alone_is_told_as_pwd_at_the_single_factor_level(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    callback = rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)
    claims = rp.id_claims(rp.token(callback))
    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == ACR_SINGLE_FACTOR == "urn:vestibule:acr:pwd"


def test_a_password_and_a_code_are_told_as_pwd_otp_mfa_at_the_multi_factor_level(live_server):
    account = make_account()
    totp = app_enrol(account)
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    first = browser.session.get(rp.authorization_url(), allow_redirects=False)
    next_path = query_of(urljoin(live_server.url, first.headers["Location"]))["next"]
    assert (
        browser.sign_in("marie@example.org", PASSWORD, next_path=next_path).headers["Location"]
        == "/flow/sign_in/"
    )
    assert flow_answer(browser, live_server.url, totp.now()).headers["Location"] == next_path
    callback = rp.callback_of(browser.follow_to_callback(urljoin(live_server.url, next_path)))
    claims = rp.id_claims(rp.token(callback))
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MULTI_FACTOR == "urn:vestibule:acr:mfa"
    # userinfo knows the access token, not the sign-in: it does not guess (it said "pwd").
    assert not {"amr", "acr"} & set(rp.userinfo())


def test_a_section_requiring_mfa_sends_a_password_only_session_through_the_factor(live_server):
    account = make_account()
    application, secret = section_register(requires_mfa=True)
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    assert browser.sign_in("marie@example.org", PASSWORD).status_code == 302  # password only

    asked = browser.session.get(rp.authorization_url(), allow_redirects=False)
    assert asked.headers["Location"] == "/flow/sign_in/"
    assert not Grant.objects.exists()
    # No factor yet: the section's requirement has the member enrol one, then go on.
    totp = pyotp.TOTP(secret_on(browser, live_server.url))
    back = flow_answer(browser, live_server.url, totp.now())
    assert back.headers["Location"].startswith("/o/authorize/")
    callback = rp.callback_of(
        browser.follow_to_callback(urljoin(live_server.url, back.headers["Location"]))
    )
    assert query_of(callback)["state"] == rp.state
    assert rp.token(callback)["id_token"]
    assert Grant.objects.filter(user=account).count() == 1


def test_prompt_none_without_the_factor_answers_interaction_required(live_server):
    make_account()
    application, secret = section_register(requires_mfa=True)
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    browser.sign_in("marie@example.org", PASSWORD)
    answer = browser.session.get(rp.authorization_url(prompt="none"), allow_redirects=False)
    assert query_of(rp.callback_of(answer))["error"] == "interaction_required"
    assert not Grant.objects.exists()


def test_a_section_without_the_requirement_takes_the_password(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    assert rp.sign_in_through(Browser(live_server.url), "marie@example.org", PASSWORD)


@pytest.mark.parametrize(
    "asked",
    [
        {"acr_values": ACR_MULTI_FACTOR},
        {
            "claims": json.dumps(
                {"id_token": {"acr": {"essential": True, "values": [ACR_MULTI_FACTOR]}}}
            )
        },
    ],
    ids=["acr_values", "claims_parameter"],
)
def test_asking_for_mfa_sends_a_password_only_session_through_the_factor(live_server, asked):
    account = make_account()
    application, secret = section_register()  # the section itself does not require it
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    assert browser.sign_in("marie@example.org", PASSWORD).status_code == 302  # password only

    answer = browser.session.get(rp.authorization_url(**asked), allow_redirects=False)
    assert answer.headers["Location"] == "/flow/sign_in/"
    assert not Grant.objects.exists()
    # No factor yet: the member enrols one, as for a section requiring it, then goes on.
    totp = pyotp.TOTP(secret_on(browser, live_server.url))
    back = flow_answer(browser, live_server.url, totp.now())
    assert back.headers["Location"].startswith("/o/authorize/")
    callback = rp.callback_of(
        browser.follow_to_callback(urljoin(live_server.url, back.headers["Location"]))
    )
    claims = rp.id_claims(rp.token(callback))
    assert claims["acr"] == ACR_MULTI_FACTOR
    assert "mfa" in claims["amr"]
    assert Grant.objects.filter(user=account).count() == 1


def test_asking_for_mfa_with_prompt_none_answers_interaction_required(live_server):
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    browser = Browser(live_server.url)
    browser.sign_in("marie@example.org", PASSWORD)
    answer = browser.session.get(
        rp.authorization_url(prompt="none", acr_values=ACR_MULTI_FACTOR), allow_redirects=False
    )
    assert query_of(rp.callback_of(answer))["error"] == "interaction_required"
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    "acr_values",
    ["urn:example:unknown-level", f"{ACR_SINGLE_FACTOR} {ACR_MULTI_FACTOR}"],
    ids=["unknown_value", "single_factor_accepted"],
)
def test_a_request_the_password_satisfies_gets_the_best_the_session_has(live_server, acr_values):
    """acr_values is voluntary (Core §3.1.2.1): a value we do not know is no error, and a
    list accepting a single factor does not force one more on the member."""
    make_account()
    application, secret = section_register()
    rp = RelyingParty(live_server.url, application.client_id, secret)
    callback = rp.sign_in_through(
        Browser(live_server.url), "marie@example.org", PASSWORD, acr_values=acr_values
    )
    assert "error" not in query_of(callback)
    assert rp.id_claims(rp.token(callback))["acr"] == ACR_SINGLE_FACTOR


def test_discovery_lists_the_acr_values_and_the_acr_claim(live_server):
    make_account()
    application, secret = section_register()
    metadata = RelyingParty(live_server.url, application.client_id, secret).metadata
    assert metadata["acr_values_supported"] == [ACR_SINGLE_FACTOR, ACR_MULTI_FACTOR]
    assert "acr" in metadata["claims_supported"]
