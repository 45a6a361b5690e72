"""Issue 12, item 3: sign-ups are throttled before the password is hashed, and the e-mails the
sign-up path sends share the per-recipient allowance of every flow e-mail."""

import pytest
from django.test import Client

from tests.concurrency import at_once
from tests.factories import make_account
from tests.flows.walk import answer, start
from vestibule.accounts.models import Account
from vestibule.flows.throttles import (
    MAILS_PER_RECIPIENT,
    SIGN_UPS_PER_ADDRESS,
    SIGN_UPS_PER_EMAIL,
)
from vestibule.notifications.models import Message
from vestibule.queues import background_wait

PASSWORD = "une phrase de passe assez longue"
REFUSED_FR = "Trop d'inscriptions depuis votre connexion ou avec cette adresse courriel."
REFUSED_EN = "Too many sign-ups from your connection or with this e-mail address."


@pytest.fixture(autouse=True)
def community(use_profile):
    use_profile("community")


def sign_up(email: str, address: str = "127.0.0.1", language: str = "fr"):
    browser = Client(REMOTE_ADDR=address)
    browser.cookies["vestibule_language"] = language
    start(browser, "registration")
    return answer(
        browser, "registration", email=email, password=PASSWORD, password_confirm=PASSWORD
    )


def refused(response, message: str = REFUSED_FR) -> bool:
    return response.status_code == 200 and message in response.content.decode().replace(
        "&#x27;", "'"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "message"), [("fr", REFUSED_FR), ("en", REFUSED_EN)])
def test_past_the_address_limit_a_sign_up_is_refused_before_any_hash(hashes, language, message):
    limit = SIGN_UPS_PER_ADDRESS.limit
    for n in range(limit):
        assert sign_up(f"member{n}@example.org").status_code == 302
    assert hashes.count("encode") == limit  # one hash per sign-up
    refusal = sign_up("one.more@example.org", language=language)
    assert refused(refusal, message)
    assert hashes.count("encode") == limit  # the refused one cost none
    assert not Account.objects.filter(email="one.more@example.org").exists()
    # Another address is not held back.
    assert sign_up("one.more@example.org", address="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_past_the_e_mail_limit_a_sign_up_is_refused_before_any_hash_from_any_address(hashes):
    limit = SIGN_UPS_PER_EMAIL.limit
    for n in range(limit):
        assert sign_up("camille@example.org", address=f"198.51.100.{n + 1}").status_code == 302
    assert len(hashes) == limit  # one hash each: made, or checked against the pending one
    assert refused(sign_up("camille@example.org", address="203.0.113.50"))
    assert len(hashes) == limit
    assert Account.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("status", [Account.Status.ACTIVE, Account.Status.PENDING])
def test_ten_sign_ups_with_a_taken_address_send_at_most_the_recipient_allowance(status, inbox):
    make_account(email="camille@example.org", status=status)
    pages = [
        sign_up("camille@example.org", address=f"198.51.100.{n + 1}").status_code for n in range(10)
    ]
    assert pages.count(302) == SIGN_UPS_PER_EMAIL.limit  # the others were throttled
    background_wait()
    template = "already_registered" if status == Account.Status.ACTIVE else "activation"
    sent = inbox.to("camille@example.org")
    assert 0 < len(sent) <= MAILS_PER_RECIPIENT.limit < SIGN_UPS_PER_EMAIL.limit
    assert Message.objects.filter(template=template).count() == len(sent)


@pytest.mark.django_db(transaction=True)
def test_a_burst_from_one_address_hashes_no_more_than_the_limit(hashes):
    limit = SIGN_UPS_PER_ADDRESS.limit
    browsers = []
    for n in range(limit + 6):
        browser = Client()
        start(browser, "registration")
        browsers.append((browser, f"burst{n}@example.org"))
    responses = at_once(
        *[
            lambda b=b, e=e: answer(
                b, "registration", email=e, password=PASSWORD, password_confirm=PASSWORD
            )
            for b, e in browsers
        ]
    )
    assert hashes.count("encode") <= limit
    assert Account.objects.count() <= limit
    assert sum(refused(r) for r in responses) >= 6


@pytest.mark.django_db(transaction=True)
def test_a_burst_with_one_pending_address_sends_no_more_than_the_allowance(hashes, inbox):
    make_account(email="camille@example.org", status=Account.Status.PENDING)
    before = hashes.count("encode")
    browsers = []
    for n in range(12):
        browser = Client(REMOTE_ADDR=f"198.51.100.{n + 1}")
        start(browser, "registration")
        browsers.append(browser)
    at_once(
        *[
            lambda b=b: answer(
                b,
                "registration",
                email="camille@example.org",
                password=PASSWORD,
                password_confirm=PASSWORD,
            )
            for b in browsers
        ]
    )
    assert hashes.count("encode") - before <= SIGN_UPS_PER_EMAIL.limit
    background_wait()
    assert len(inbox.to("camille@example.org")) <= MAILS_PER_RECIPIENT.limit
