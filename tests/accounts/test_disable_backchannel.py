"""Disabling or deleting an account signs it out of the sections too: each section where
the member is signed in receives a back-channel logout token (over HTTP, to a real
listening server), and the member's tokens stop working."""

import pytest

from tests.factories import make_account
from tests.oidc.relying_party import Browser, RelyingParty, section_register
from tests.oidc.test_logout import (
    refresh_refused,
    section_server,
    sign_in_to,
    signed_in,
    verified_logout_token,
)
from vestibule.accounts.lifecycle import account_delete, account_disable
from vestibule.oidc.models import LogoutDelivery

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("action", ["disable", "delete"])
def test_the_sections_hear_of_it_and_every_session_ends(live_server, settings, action):
    # Staff and the command line have no member's request: the configured address is
    # the issuer the sections know.
    settings.VESTIBULE_BASE_URL = live_server.url
    account = make_account()
    with section_server() as section:
        application, secret = section_register(backchannel_logout_uri=section.url)
        rp = RelyingParty(live_server.url, application.client_id, secret)
        browser = Browser(live_server.url)
        token = sign_in_to(rp, browser)
        assert signed_in(browser)

        if action == "disable":
            account_disable(account=account, reason="fraude", actor=None)
        else:
            account_delete(account=account, actor=None, reason="asked")

        verified_logout_token(
            section.wait()[0],
            base=live_server.url,
            client_id=application.client_id,
            sub=token["claims"]["sub"],
        )
        assert not signed_in(browser)
    assert refresh_refused(rp, token)
    assert LogoutDelivery.objects.get().state == LogoutDelivery.State.SENT
