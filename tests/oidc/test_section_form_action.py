"""The sign-in page of a pending authorization lets its form lead on to that section only."""

from urllib.parse import urlencode

import pytest

from tests.oidc.relying_party import REDIRECT_URI, section_register

pytestmark = pytest.mark.django_db


def form_action(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    directive = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    return directive.split()[1:]


def sign_in_page(client, **authorize: str):
    next_path = "/o/authorize/?" + urlencode({"response_type": "code", **authorize})
    return client.get("/login/", {"next": next_path})


def test_the_sign_in_page_of_a_sections_request_lets_the_form_lead_on_to_the_section(client):
    application, _ = section_register()
    response = sign_in_page(client, client_id=application.client_id, redirect_uri=REDIRECT_URI)
    assert form_action(response) == ["'self'", "http://section.example"]


@pytest.mark.parametrize(
    "authorize",
    [
        {"client_id": "unknown", "redirect_uri": REDIRECT_URI},
        {"redirect_uri": "http://attacker.example/callback"},
        {},
    ],
    ids=["unknown client", "unregistered redirect URI", "no client"],
)
def test_no_other_origin_is_let_in(client, authorize):
    application, _ = section_register()
    authorize.setdefault("client_id", application.client_id)
    response = sign_in_page(client, **authorize)
    assert form_action(response) == ["'self'"]


def test_a_sign_in_page_leading_elsewhere_keeps_the_policy(client):
    section_register()
    response = client.get("/login/", {"next": "http://section.example/o/authorize/"})
    assert form_action(response) == ["'self'"]
