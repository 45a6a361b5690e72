"""Who may enter a section (`--allow-kind`, `--require-right`): anyone else gets a page in
their language naming the support contact, and no code is issued (issue 13)."""

import pytest
from django.conf import settings

from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import Browser, RelyingParty, query_of, section_register
from vestibule.audit.models import Event
from vestibule.establishments.services import establishment_create, membership_grant

pytestmark = pytest.mark.django_db(transaction=True)


def reach(live_server, rp: RelyingParty, english: bool = False):
    """Sign in on Vestibule, then follow the section's authorization request."""
    browser = Browser(live_server.url)
    if english:
        browser.session.cookies.set(settings.LANGUAGE_COOKIE_NAME, "en")
    assert browser.sign_in("marie@example.org", PASSWORD).status_code == 302
    return browser.follow_to_callback(rp.authorization_url())


@pytest.mark.parametrize(
    ("english", "heading"),
    [(False, "Cette section n'est pas ouverte à votre compte"),
     (True, "This section is not open to your account")],
)  # fmt: skip
def test_a_member_of_another_kind_is_refused_with_a_page_and_no_code(
    live_server, use_profile, english, heading
):
    use_profile("physicians")
    make_account(code="R12345", kind="resident")
    application, secret = section_register(allowed_kinds=["physician"])
    rp = RelyingParty(live_server.url, application.client_id, secret)
    page = reach(live_server, rp, english=english)
    assert page.status_code == 403 and not page.is_redirect
    assert heading in page.text.replace("&#x27;", "'")
    assert 'data-testid="support-contact"' in page.text
    assert not application.grant_set.exists()  # no code was issued
    refusal = Event.objects.get(kind="oidc.refused")
    assert refusal.data["client"] == application.client_id


def test_a_member_of_an_allowed_kind_enters(live_server, use_profile):
    use_profile("physicians")
    make_account(code="54321", kind="physician")
    application, secret = section_register(allowed_kinds=["physician"])
    rp = RelyingParty(live_server.url, application.client_id, secret)
    assert "code" in query_of(rp.callback_of(reach(live_server, rp)))


def test_a_required_right_lets_in_only_its_holders(live_server, use_profile):
    use_profile("extranet")
    account = make_account(kind="user")
    owner = make_account(email="owner@example.org", kind="user")
    hotel = establishment_create(name="Hôtel du Lac", owner=owner, public_id="LAC01")
    application, secret = section_register(required_right="rates")
    rp = RelyingParty(live_server.url, application.client_id, secret)
    assert reach(live_server, rp).status_code == 403

    membership_grant(account=account, establishment=hotel, rights=["rates"])
    rp = RelyingParty(live_server.url, application.client_id, secret)
    assert "code" in query_of(rp.callback_of(reach(live_server, rp)))
