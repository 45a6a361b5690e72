"""Malformed authorization requests, over HTTP: each is answered as OpenID Connect says — the
error sent to the section's redirect URI when that URI is valid (error, error_description,
state, iss), otherwise a page in the member's language that never redirects — and none is
a 500. Every refusal is audited."""

import html
import re
from urllib.parse import urlencode, urljoin

import pytest
import requests
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from oauth2_provider.models import Grant

from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import REDIRECT_URI, Browser, query_of, section_register
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
STATE = "xyz-state"


@pytest.fixture
def sections(db):
    confidential, _ = section_register(name="Confidentielle")
    public, _ = section_register(name="Publique", public=True)
    several, _ = section_register(
        name="Plusieurs adresses", redirect_uri=f"{REDIRECT_URI} http://section.example/other"
    )
    return {"confidential": confidential, "public": public, "several": several}


def authorize(live_server, session: requests.Session, **params: str) -> requests.Response:
    return session.get(f"{live_server.url}/o/authorize/?{urlencode(params)}", allow_redirects=False)


def good(application, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": application.client_id,
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": STATE,
        "nonce": "n-0S6_WzA2Mj",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def signed_in_browser(live_server) -> Browser:
    make_account()
    browser = Browser(live_server.url)
    assert browser.sign_in("marie@example.org", PASSWORD).status_code == 302
    return browser


# Errors the section is told at its (valid) redirect URI: (section, overrides, error).
REDIRECTED = [
    ("public", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ("confidential", {"code_challenge_method": "plain"}, "invalid_request"),
    ("confidential", {"code_challenge": "short"}, "invalid_request"),
    ("confidential", {"response_type": "token"}, None),
    ("confidential", {"response_type": "code id_token"}, None),
    ("confidential", {"response_type": "id_token"}, None),
    ("confidential", {"response_type": "nonsense"}, None),
    ("confidential", {"response_type": None}, None),
    ("confidential", {"scope": "profile email"}, "invalid_scope"),
    ("confidential", {"scope": "openid admin"}, "invalid_scope"),
    ("confidential", {"nonce": "n" * 300}, "invalid_request"),
    ("confidential", {"max_age": "soon"}, "invalid_request"),
    ("confidential", {"prompt": "none login"}, None),
    ("confidential", {"request": "eyJhbGciOiJub25lIn0.e30."}, None),
    ("confidential", {"request_uri": "https://evil.example/req"}, None),
]

# Requests whose redirect URI cannot be trusted: a page, never a redirect.
PAGES = [
    ("confidential", {"client_id": "unknown-client"}, "unknown_client"),
    ("confidential", {"client_id": None}, "missing_client"),
    (
        "confidential",
        {"redirect_uri": "http://section.example/callback/other"},
        "redirect_uri_mismatch",
    ),
    (
        "confidential",
        {"redirect_uri": "http://section.example/callback?next=/x"},
        "redirect_uri_mismatch",
    ),
    ("confidential", {"redirect_uri": "http://section.example/callback/"}, "redirect_uri_mismatch"),
    ("confidential", {"redirect_uri": "https://section.example/callback"}, "redirect_uri_mismatch"),
    (
        "confidential",
        {"redirect_uri": "http://section.example:8080/callback"},
        "redirect_uri_mismatch",
    ),
    ("confidential", {"redirect_uri": "http://evil.example/callback"}, "redirect_uri_mismatch"),
    (
        "confidential",
        {"redirect_uri": "http://section.example.evil.example/callback"},
        "redirect_uri_mismatch",
    ),
    (
        "confidential",
        {"redirect_uri": "http://user@section.example/callback"},
        "redirect_uri_mismatch",
    ),
    (
        "confidential",
        {"redirect_uri": "http://section.example/callback#frag"},
        "redirect_uri_mismatch",
    ),
    ("confidential", {"redirect_uri": "javascript:alert(1)"}, "redirect_uri_mismatch"),
    ("confidential", {"redirect_uri": None}, "missing_redirect_uri"),
    ("several", {"redirect_uri": None}, "missing_redirect_uri"),
]


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("section,overrides,error", REDIRECTED)
def test_a_request_with_a_valid_redirect_uri_gets_its_error_there(
    live_server, sections, signed_in, section, overrides, error
):
    browser = signed_in_browser(live_server) if signed_in else Browser(live_server.url)
    before = Event.objects.filter(kind="oidc.request_refused").count()
    response = authorize(live_server, browser.session, **good(sections[section], **overrides))
    assert response.status_code == 302, response.text[:300]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    answer = query_of(location)
    assert answer["error"] == error if error else answer["error"]
    assert answer["error"] in {
        "invalid_request",
        "invalid_scope",
        "unsupported_response_type",
        "unauthorized_client",
        "request_not_supported",
        "request_uri_not_supported",
    }
    assert answer["state"] == STATE
    assert answer["iss"] == f"{live_server.url}/o"
    assert "code" not in answer
    assert Event.objects.filter(kind="oidc.request_refused").count() == before + 1


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize("section,overrides,error", PAGES)
def test_a_request_with_no_trusted_redirect_uri_gets_a_page_and_never_a_redirect(
    live_server, sections, signed_in, section, overrides, error
):
    browser = signed_in_browser(live_server) if signed_in else Browser(live_server.url)
    response = authorize(live_server, browser.session, **good(sections[section], **overrides))
    assert response.status_code == 400, response.text[:300]
    assert "Location" not in response.headers
    assert 'data-testid="oidc-error"' in response.text
    if error:
        assert f'data-kind="{error}"' in response.text
    assert Event.objects.filter(kind="oidc.request_refused").exists()


def test_an_oversized_state_is_refused_at_the_redirect_uri_without_echoing_it(
    live_server, sections
):
    """10 KB of state: refused (invalid_request), and not sent back in the redirect."""
    browser = signed_in_browser(live_server)
    response = authorize(
        live_server, browser.session, **good(sections["confidential"], state="s" * 10_000)
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?") and len(location) < 1000
    answer = query_of(location)
    assert answer["error"] == "invalid_request" and "state" not in answer


def test_a_state_at_the_limit_is_echoed(live_server, sections):
    browser = signed_in_browser(live_server)
    state = "s" * 2048
    response = authorize(
        live_server, browser.session, **good(sections["confidential"], state=state)
    )
    answer = query_of(response.headers["Location"])
    assert "code" in answer and answer["state"] == state


def test_the_error_page_speaks_french_by_default_and_english_with_the_cookie(live_server):
    params = {"client_id": "unknown", "response_type": "code", "redirect_uri": REDIRECT_URI}
    french = authorize(live_server, requests.Session(), **params)
    assert french.status_code == 400
    assert "Cette demande de connexion ne peut pas aboutir" in french.text
    assert "Ce site n’est pas inscrit auprès de Vestibule." in french.text
    english_session = requests.Session()
    english_session.cookies.set(settings.LANGUAGE_COOKIE_NAME, "en")
    english = authorize(live_server, english_session, **params)
    assert "This sign-in request cannot be answered" in english.text
    assert "This site is not registered with Vestibule." in english.text


def test_prompt_none_without_a_session_answers_login_required(live_server, sections):
    response = authorize(
        live_server, requests.Session(), **good(sections["confidential"], prompt="none")
    )
    answer = query_of(response.headers["Location"])
    assert answer["error"] == "login_required" and answer["state"] == STATE


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "client_id",
                "response_type",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "prompt",
                "max_age",
                "response_mode",
                "claims",
                "ui_locales",
                "id_token_hint",
                "resource",
            ]
        ),
        st.one_of(
            st.text(max_size=300),
            st.sampled_from(
                ["code", "token", "openid", "none login", "S256", "plain", "-1", "{}", REDIRECT_URI]
            ),
        ),
    ),
    keep_valid=st.booleans(),
)
def test_no_authorization_request_is_a_500_or_an_open_redirect(
    live_server, sections, params, keep_valid
):
    """Any parameters, valid base or not: a page or a redirect to the registered URI only."""
    base = good(sections["confidential"]) if keep_valid else {}
    query = {**base, **{k: v.replace("\x00", "") for k, v in params.items()}}
    response = authorize(live_server, requests.Session(), **query)
    assert response.status_code < 500, response.text[:500]
    if response.is_redirect:
        location = urljoin(live_server.url, response.headers["Location"])
        assert location.startswith((live_server.url + "/", REDIRECT_URI + "?")), location


@pytest.mark.parametrize(
    "field,value",
    [("nonce", "n" * 300), ("code_challenge", "c" * 200), ("code_challenge_method", "plain")],
)
def test_a_tampered_consent_form_is_refused_not_a_500(live_server, field, value):
    """A third-party section's consent form carries the request in hidden fields; what the
    member (or a script in their browser) changes there is checked again."""
    application, _ = section_register(name="Tierce", first_party=False)
    browser = signed_in_browser(live_server)
    page = authorize(live_server, browser.session, **good(application))
    assert page.status_code == 200 and 'id="authorizationForm"' in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    fields.update({field: value, "allow": "Authorize"})
    answer = browser.session.post(
        f"{live_server.url}/o/authorize/",
        data=fields,
        headers={"Referer": f"{live_server.url}/o/authorize/"},
        allow_redirects=False,
    )
    assert answer.status_code in (302, 400), answer.text[:300]
    if answer.is_redirect:
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT_URI) and "code=" not in location
    assert not Grant.objects.exists()


@pytest.mark.django_db
def test_a_flood_of_malformed_requests_writes_one_audit_row_a_minute_per_reason(client):
    """Malformed requests cost the sender nothing: the audit log must not grow with them."""
    for _ in range(30):
        page = client.get("/o/authorize/", {"client_id": "nope", "response_type": "code"})
        assert page.status_code == 400
    client.get("/o/authorize/", {"client_id": "other", "response_type": "code"})
    refused = Event.objects.filter(kind="oidc.request_refused")
    assert sorted(e.data["client"] for e in refused) == ["nope", "other"]
