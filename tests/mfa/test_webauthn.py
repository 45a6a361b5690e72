"""Passkeys (mfa/webauthn.py) checked by py_webauthn against a software authenticator's real
answers (tests/mfa/software_authenticator.py): single-use challenges bound to the session,
the relying party and origin checked, the signature counter never going back, failures under
the password lockout, and passwordless sign-in by a discoverable passkey."""

import html
import json

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from tests.concurrency import at_once
from tests.factories import make_account
from tests.mfa.software_authenticator import SoftwareAuthenticator
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.config import get_profile
from vestibule.mfa import webauthn
from vestibule.mfa.models import Factor
from vestibule.mfa.webauthn import PasskeyRefused
from vestibule.notifications.models import Message

ORIGIN = "http://testserver"  # RequestFactory's host, the relying party in development


class Browser:
    """One browser session: every request it makes carries the same session."""

    def __init__(self, address: str = "198.51.100.7") -> None:
        self.session = SessionStore()
        self.address = address

    def request(self):
        request = RequestFactory().post("/account/security/", REMOTE_ADDR=self.address)
        request.session = self.session
        return request


@pytest.fixture
def account(db):
    return make_account()


@pytest.fixture
def browser():
    return Browser()


def enrol(account, browser, authenticator, *, origin=ORIGIN, name="Laptop"):
    options = webauthn.registration_options(request=browser.request(), account=account)
    credential = authenticator.create(options, origin=origin)
    return webauthn.registration_verify(
        request=browser.request(), account=account, credential=credential, name=name
    )


@pytest.fixture
def passkey(account, browser):
    authenticator = SoftwareAuthenticator()
    enrol(account, browser, authenticator)
    return authenticator


def assertion(browser, authenticator, account, **answer):
    options = webauthn.authentication_options(request=browser.request(), account=account)
    return authenticator.get(options, origin=answer.pop("origin", ORIGIN), **answer)


def verify(browser, credential, account):
    return webauthn.authentication_verify(
        request=browser.request(), credential=credential, account=account
    )


# Registration


def test_a_passkey_is_registered_from_the_authenticators_answer(account, browser):
    authenticator = SoftwareAuthenticator()
    factor = enrol(account, browser, authenticator, name="  Laptop  ")
    assert factor.kind == Factor.Kind.WEBAUTHN
    assert factor.name == "Laptop"
    assert factor.credential_id == webauthn.bytes_to_base64url(authenticator.credential_id)
    assert factor.public_key and factor.sign_count == 0
    assert factor.transports == ["internal"] and factor.user_verified
    assert Event.objects.filter(kind="mfa.factor_added", account=account).exists()
    assert Message.objects.filter(template="mfa_changed", to=account.email).exists()


def test_registration_options_prefer_a_discoverable_verified_passkey(account, browser, passkey):
    options = webauthn.registration_options(request=browser.request(), account=account)
    assert options["rp"] == {"id": "testserver", "name": str(get_profile().organisation.name)}
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["attestation"] == "none"
    # The passkeys it has already: the browser does not register the same one twice.
    assert [c["id"] for c in options["excludeCredentials"]] == [
        webauthn.bytes_to_base64url(passkey.credential_id)
    ]
    # The name is what the passkey picker shows; the user id says nothing of the person,
    # and stays the same for the account.
    assert options["user"]["name"] == account.identifier
    assert account.email.encode() not in webauthn.base64url_to_bytes(options["user"]["id"])
    again = webauthn.registration_options(request=browser.request(), account=account)
    assert again["user"]["id"] == options["user"]["id"]
    assert again["challenge"] != options["challenge"]


def test_a_registration_made_for_another_origin_is_refused(account, browser):
    with pytest.raises(PasskeyRefused) as refused:
        enrol(account, browser, SoftwareAuthenticator(), origin="https://portal.example.net")
    assert refused.value.reason == "invalid"
    assert not Factor.objects.filter(account=account).exists()


def test_a_registration_for_another_relying_party_is_refused(account, browser):
    options = webauthn.registration_options(request=browser.request(), account=account)
    credential = SoftwareAuthenticator().create(options, origin=ORIGIN, rp_id="example.net")
    with pytest.raises(PasskeyRefused):
        webauthn.registration_verify(
            request=browser.request(), account=account, credential=credential, name="Key"
        )
    assert not Factor.objects.filter(account=account).exists()


def test_a_registration_answer_is_accepted_once(account, browser):
    options = webauthn.registration_options(request=browser.request(), account=account)
    credential = SoftwareAuthenticator().create(options, origin=ORIGIN)
    webauthn.registration_verify(
        request=browser.request(), account=account, credential=credential, name="Key"
    )
    with pytest.raises(PasskeyRefused) as refused:
        webauthn.registration_verify(
            request=browser.request(), account=account, credential=credential, name="Key"
        )
    assert refused.value.reason == "expired"
    assert Factor.objects.filter(account=account).count() == 1


def test_a_registration_challenge_serves_only_the_account_it_was_made_for(account, browser):
    options = webauthn.registration_options(request=browser.request(), account=account)
    credential = SoftwareAuthenticator().create(options, origin=ORIGIN)
    other = make_account(email="other@example.org")
    with pytest.raises(PasskeyRefused):
        webauthn.registration_verify(
            request=browser.request(), account=other, credential=credential, name="Key"
        )
    assert not Factor.objects.exists()


def test_a_passkey_registered_already_is_refused_for_another_account(account, browser, passkey):
    other, elsewhere = make_account(email="other@example.org"), Browser()
    with pytest.raises(PasskeyRefused) as refused:
        enrol(other, elsewhere, passkey)
    assert refused.value.reason == "duplicate"


def test_an_expired_registration_challenge_is_refused(account, browser):
    options = webauthn.registration_options(request=browser.request(), account=account)
    state = browser.session[webauthn.REGISTRATION_KEY]
    browser.session[webauthn.REGISTRATION_KEY] = {**state, "expires": state["expires"] - 301}
    credential = SoftwareAuthenticator().create(options, origin=ORIGIN)
    with pytest.raises(PasskeyRefused) as refused:
        webauthn.registration_verify(
            request=browser.request(), account=account, credential=credential, name="Key"
        )
    assert refused.value.reason == "expired"


# Authentication (second factor)


def test_a_passkey_signs_the_challenge_as_a_second_factor(account, browser, passkey):
    options = webauthn.authentication_options(request=browser.request(), account=account)
    assert [c["id"] for c in options["allowCredentials"]] == [
        webauthn.bytes_to_base64url(passkey.credential_id)
    ]
    assert options["userVerification"] == "preferred"
    credential = passkey.get(options, origin=ORIGIN)
    assert verify(browser, credential, account) == account
    factor = Factor.objects.get(account=account)
    assert factor.sign_count == 1 and factor.last_used_at is not None
    assert Event.objects.filter(kind="mfa.passkey_used", account=account).exists()


def test_a_replayed_assertion_is_refused(account, browser, passkey):
    credential = assertion(browser, passkey, account)
    verify(browser, credential, account)
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, credential, account)
    assert refused.value.reason == "expired"
    # Even with a fresh challenge in the session: the old answer signed the old one.
    webauthn.authentication_options(request=browser.request(), account=account)
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, credential, account)
    assert refused.value.reason == "invalid"


def test_a_challenge_serves_only_the_session_it_was_made_in(account, browser, passkey):
    credential = assertion(browser, passkey, account)
    with pytest.raises(PasskeyRefused) as refused:
        verify(Browser(), credential, account)
    assert refused.value.reason == "expired"


def test_an_assertion_made_for_another_origin_is_refused(account, browser, passkey):
    credential = assertion(browser, passkey, account, origin="https://portal.example.net")
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, credential, account)
    assert refused.value.reason == "invalid"


def test_an_assertion_for_another_relying_party_is_refused(account, browser, passkey):
    credential = assertion(browser, passkey, account, rp_id="example.net")
    with pytest.raises(PasskeyRefused):
        verify(browser, credential, account)


def test_a_signature_counter_gone_back_is_refused(account, browser, passkey):
    verify(browser, assertion(browser, passkey, account, sign_count=7), account)
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, assertion(browser, passkey, account, sign_count=7), account)
    assert refused.value.reason == "invalid"
    with pytest.raises(PasskeyRefused):
        verify(browser, assertion(browser, passkey, account, sign_count=3), account)
    assert Factor.objects.get(account=account).sign_count == 7
    assert verify(browser, assertion(browser, passkey, account, sign_count=8), account) == account


def test_a_passkey_without_a_counter_stays_usable(account, browser, passkey):
    # Synced passkeys report 0 every time: nothing to compare, nothing refused.
    for _ in range(2):
        assert verify(browser, assertion(browser, passkey, account, sign_count=0), account)


def test_a_wrong_signature_is_refused(account, browser, passkey):
    credential = json.loads(assertion(browser, passkey, account))
    impostor = SoftwareAuthenticator()
    forged = json.loads(impostor.get(webauthn_options_like(credential), origin=ORIGIN))
    credential["response"]["signature"] = forged["response"]["signature"]
    with pytest.raises(PasskeyRefused):
        verify(browser, json.dumps(credential), account)


def webauthn_options_like(credential: dict) -> dict:
    client_data = json.loads(webauthn.base64url_to_bytes(credential["response"]["clientDataJSON"]))
    return {"rpId": "testserver", "challenge": client_data["challenge"]}


def test_another_accounts_passkey_is_refused_as_this_accounts_factor(account, browser, passkey):
    other = make_account(email="other@example.org")
    theirs = SoftwareAuthenticator()
    enrol(other, Browser(), theirs)
    with pytest.raises(PasskeyRefused):
        verify(browser, assertion(browser, theirs, account), account)


def test_garbage_is_refused(account, browser, passkey):
    for credential in ["", "not json", "[]", json.dumps({"id": 5}), "x" * 100_000]:
        webauthn.authentication_options(request=browser.request(), account=account)
        with pytest.raises(PasskeyRefused):
            verify(browser, credential, account)


def test_wrong_assertions_count_toward_the_lockout(account, browser, passkey):
    threshold = get_profile().lockout.threshold
    for _ in range(threshold):
        with pytest.raises(PasskeyRefused):
            verify(browser, assertion(browser, passkey, account, origin="https://x.test"), account)
    account.refresh_from_db()
    assert account.locked_at is not None
    # Locked: even the right passkey is refused now, unchecked.
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, assertion(browser, passkey, account), account)
    assert refused.value.reason == "locked"
    assert Factor.objects.get(account=account).sign_count == 0


def test_a_right_assertion_forgives_earlier_failures(account, browser, passkey):
    threshold = get_profile().lockout.threshold
    for _ in range(threshold - 1):
        with pytest.raises(PasskeyRefused):
            verify(browser, assertion(browser, passkey, account, origin="https://x.test"), account)
    verify(browser, assertion(browser, passkey, account), account)
    with pytest.raises(PasskeyRefused):
        verify(browser, assertion(browser, passkey, account, origin="https://x.test"), account)
    account.refresh_from_db()
    assert account.locked_at is None


@pytest.mark.django_db(transaction=True)
def test_two_assertions_with_the_same_counter_at_once_are_accepted_once():
    account = make_account()
    authenticator = SoftwareAuthenticator()
    enrol(account, Browser(), authenticator)
    browsers = [Browser(), Browser()]
    credentials = [assertion(b, authenticator, account, sign_count=5) for b in browsers]
    results = at_once(
        *(
            lambda b=b, c=c: verify(b, c, account)
            for b, c in zip(browsers, credentials, strict=True)
        )
    )
    assert sorted(isinstance(r, Account) for r in results) == [False, True]


# Passwordless


def test_passwordless_options_name_no_account_and_demand_user_verification(browser):
    options = webauthn.authentication_options(request=browser.request(), account=None)
    assert options["allowCredentials"] == []
    assert options["userVerification"] == "required"


def test_a_discoverable_passkey_signs_in_alone(account, browser, passkey):
    credential = assertion(browser, passkey, None)
    assert verify(browser, credential, None) == account
    event = Event.objects.get(kind="mfa.passkey_used", account=account)
    assert event.data["passwordless"] is True


def test_passwordless_refuses_a_passkey_that_did_not_verify_the_person(account, browser):
    authenticator = SoftwareAuthenticator(user_verified=False)
    enrol(account, browser, authenticator)
    with pytest.raises(PasskeyRefused):
        verify(browser, assertion(browser, authenticator, None), None)
    # As a second factor after the password, presence is enough.
    assert verify(browser, assertion(browser, authenticator, account), account) == account


def test_passwordless_refuses_an_unknown_passkey(db, browser):
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, assertion(browser, SoftwareAuthenticator(), None), None)
    assert refused.value.reason == "invalid"


def test_unknown_passkeys_count_toward_the_address_block(db):
    attacker = Browser(address="203.0.113.9")
    block = get_profile().address_block.threshold
    for _ in range(block):
        with pytest.raises(PasskeyRefused):
            verify(attacker, assertion(attacker, SoftwareAuthenticator(), None), None)
    with pytest.raises(PasskeyRefused) as refused:
        verify(attacker, assertion(attacker, SoftwareAuthenticator(), None), None)
    assert refused.value.reason == "blocked"


def test_passwordless_failures_lock_the_passkeys_account(account, browser, passkey):
    for _ in range(get_profile().lockout.threshold):
        with pytest.raises(PasskeyRefused):
            verify(browser, assertion(browser, passkey, None, origin="https://x.test"), None)
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, assertion(browser, passkey, None), None)
    assert refused.value.reason == "locked"


def test_a_disabled_accounts_passkey_does_not_sign_in(account, browser, passkey):
    Account.objects.filter(pk=account.pk).update(status=Account.Status.DISABLED)
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, assertion(browser, passkey, None), None)
    assert refused.value.reason == "inactive"


def test_a_second_factor_challenge_does_not_serve_passwordless(account, browser, passkey):
    credential = assertion(browser, passkey, account)
    with pytest.raises(PasskeyRefused) as refused:
        verify(browser, credential, None)
    assert refused.value.reason == "expired"


# The relying party


def test_in_production_the_relying_party_is_the_public_address(settings, account, browser):
    settings.PRODUCTION = True
    settings.VESTIBULE_BASE_URL = "https://members.example.org/"
    options = webauthn.registration_options(request=browser.request(), account=account)
    assert options["rp"]["id"] == "members.example.org"
    # The request's own host (testserver) is not the public origin: refused.
    with pytest.raises(PasskeyRefused):
        webauthn.registration_verify(
            request=browser.request(),
            account=account,
            credential=SoftwareAuthenticator().create(options, origin=ORIGIN),
            name="Key",
        )
    options = webauthn.registration_options(request=browser.request(), account=account)
    credential = SoftwareAuthenticator().create(options, origin="https://members.example.org")
    factor = webauthn.registration_verify(
        request=browser.request(), account=account, credential=credential, name="Key"
    )
    assert factor.pk


def test_a_configured_relying_party_id_may_be_the_parent_domain(settings, browser):
    settings.PRODUCTION = True
    settings.VESTIBULE_BASE_URL = "https://members.example.org"
    settings.VESTIBULE_WEBAUTHN_RP_ID = "example.org"
    assert webauthn.relying_party(browser.request()) == (
        "example.org",
        "https://members.example.org",
    )


# The security page: « Ajouter une clé d'accès » (mfa/passkey_views.py, mfa/passkeys.html)

pages = pytest.mark.urls("tests.mfa.passkey_test_urls")


def text(response) -> str:
    return html.unescape(response.content.decode())


def page_add(client, account, authenticator, name="Laptop"):
    client.force_login(account)
    options = client.post("/account/security/passkeys/options/").json()
    credential = authenticator.create(options, origin=ORIGIN)
    return client.post(
        "/account/security/passkeys/add/",
        {"name": name, "credential": credential},
        follow=True,
    )


@pages
def test_the_security_page_offers_to_add_a_passkey(client, account):
    client.force_login(account)
    page = client.get("/account/security/").content.decode()
    assert "Ajouter une clé d'accès" in html.unescape(page)
    assert 'data-passkey-register data-options-url="/account/security/passkeys/options/"' in page
    assert "/static/mfa/passkey.js" in page and "<script>" not in page


@pages
def test_the_options_are_for_a_signed_in_member_and_a_post(client, account):
    assert client.post("/account/security/passkeys/options/").status_code == 302
    client.force_login(account)
    assert client.get("/account/security/passkeys/options/").status_code == 405
    options = client.post("/account/security/passkeys/options/").json()
    assert options["rp"]["id"] == "testserver" and options["challenge"]


@pages
def test_a_member_adds_a_passkey_from_the_security_page(client, account):
    response = page_add(client, account, SoftwareAuthenticator())
    assert response.redirect_chain[-1][0] == "/account/security/"
    assert "La clé d'accès « Laptop » a été ajoutée." in text(response)
    assert Factor.objects.get(account=account, kind=Factor.Kind.WEBAUTHN).name == "Laptop"


@pages
def test_a_passkey_added_without_a_name_gets_one(english_client, account):
    response = page_add(english_client, account, SoftwareAuthenticator(), name="  ")
    assert "The passkey “Passkey” has been added." in text(response)


@pages
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "This passkey was not accepted. Please try again."),
        ("fr", "Cette clé d'accès n'a pas été acceptée. Veuillez réessayer."),
    ],
)
def test_a_refused_passkey_is_said_in_the_members_language(client, account, language, message):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(account)
    client.post("/account/security/passkeys/options/")
    response = client.post(
        "/account/security/passkeys/add/", {"name": "Key", "credential": "{}"}, follow=True
    )
    assert message in text(response)
    assert not Factor.objects.filter(account=account).exists()


@pages
@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The request has expired. Please try again."),
        ("fr", "La demande a expiré. Veuillez réessayer."),
    ],
)
def test_an_answer_without_options_first_is_said_expired(client, account, language, message):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(account)
    response = client.post(
        "/account/security/passkeys/add/", {"name": "Key", "credential": "{}"}, follow=True
    )
    assert message in text(response)
