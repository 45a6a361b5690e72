"""The consent screen: a third-party section asks first, listing what it will receive;
a section of the organisation's own does not."""

import re
from urllib.parse import urlencode

import pytest

from tests.factories import make_account
from tests.oidc.relying_party import REDIRECT_URI, query_of, section_register
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db


def authorize_query(client_id: str, scope: str = "openid profile email membership") -> dict:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": scope,
        "state": "etat-123",
        "nonce": "n-1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


def consent_page(client, account, **section) -> tuple[str, dict]:
    application, _ = section_register(first_party=False, **section)
    client.force_login(account)
    page = client.get(f"/o/authorize/?{urlencode(authorize_query(application.client_id))}")
    assert page.status_code == 200
    html = page.content.decode()
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    form["csrfmiddlewaretoken"] = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    return html, form


def test_a_third_party_section_lists_the_claims_it_will_receive_in_french(client):
    html, _ = consent_page(client, make_account(), name="Partenaire")
    assert "Partenaire n’est pas exploité par l’organisation" in html
    assert "Votre adresse courriel" in html and "adresse courriel" in html
    assert "prénom" in html and "type de membre" in html
    assert "numéro de permis ou de membre" in html
    assert "Autoriser" in html and "Annuler" in html


def test_the_same_list_in_english(english_client):
    html, _ = consent_page(english_client, make_account(language="en"), name="Partner")
    assert "Partner is not run by the organisation" in html
    assert "first name" in html and "licence or member number" in html
    assert "Allow" in html and "Cancel" in html


def test_only_the_requested_scopes_are_listed(client):
    application, _ = section_register(first_party=False)
    client.force_login(make_account())
    query = authorize_query(application.client_id, scope="openid email")
    html = client.get(f"/o/authorize/?{urlencode(query)}").content.decode()
    assert 'data-scope="email"' in html
    assert 'data-scope="membership"' not in html and "type de membre" not in html


def test_allow_sends_a_code_to_the_section(client):
    _, form = consent_page(client, make_account())
    answer = client.post("/o/authorize/", {**form, "allow": "Authorize"})
    assert answer.status_code == 302
    sent = query_of(answer["Location"])
    assert answer["Location"].startswith(REDIRECT_URI)
    assert sent["code"] and sent["state"] == "etat-123"


def test_cancel_sends_access_denied_to_the_section(client):
    _, form = consent_page(client, make_account())
    answer = client.post("/o/authorize/", form)
    assert answer.status_code == 302 and answer["Location"].startswith(REDIRECT_URI)
    sent = query_of(answer["Location"])
    assert sent["error"] == "access_denied" and "code" not in sent
    assert sent["state"] == "etat-123"
    refused = Event.objects.get(kind="oidc.request_refused")
    assert refused.data["error"] == "access_denied"


def test_a_first_party_section_skips_the_consent_screen(client):
    application, _ = section_register(first_party=True)
    client.force_login(make_account())
    answer = client.get(f"/o/authorize/?{urlencode(authorize_query(application.client_id))}")
    assert answer.status_code == 302 and "code" in query_of(answer["Location"])
