"""The per-client-address limits of « Couverture »: wrong codes and code resends an hour.

Several accounts share one REMOTE_ADDR, each staying under its own limits (five wrong codes
a claim, twenty a day; five resends an hour), so that only the address's count can trip.
"""

import html

import pytest
from django.conf import settings
from django.test import Client

from tests.coverage.helpers import last_code, make_record, send_code
from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.coverage import throttles
from vestibule.coverage.models import AccessCode, CoverageRecord
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
ADDRESS = "203.0.113.7"
ELSEWHERE = "198.51.100.9"
WRONG = "ABCD-EFGH"  # well formed, never issued


@pytest.fixture(autouse=True)
def telehealth(use_profile):
    use_profile("telehealth")


def browser(account, address: str = ADDRESS, language: str = "fr") -> Client:
    client = Client(REMOTE_ADDR=address)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(account)
    return client


def page(response) -> str:
    return html.unescape(response.content.decode())


def person(n: int):
    return make_account(email=f"person{n}@example.org", region="qc")


def wrong_codes(account, count: int, address: str = ADDRESS) -> None:
    """`count` wrong codes in one claim of `account` (fewer than the five that end it)."""
    client = browser(account, address)
    for _ in range(count):
        response = client.post("/coverage/claim/", {"code": WRONG})
        assert "Ce code d'accès n'est pas valide dans votre région" in page(response)


# --- Wrong access codes: 30 an hour per client address -----------------------------------


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Trop de codes d'accès erronés. Réessayez plus tard ou communiquez avec nous."),
        ("en", "Too many wrong access codes. Try again later or contact us."),
    ],
)
def test_thirty_wrong_codes_from_one_address_stop_every_account_there(language, message):
    assert throttles.WRONG_CODES_PER_ADDRESS.limit == 30
    # 29 wrong codes from seven accounts: none near its own limits.
    for n in range(7):
        wrong_codes(person(n), 4)
    eighth = person(7)
    wrong_codes(eighth, 1)

    # At 29, a newcomer from that address still unlocks with a right code.
    first = make_record(emails={"first@example.org": "personal"})
    newcomer = make_account(email="newcomer@example.org", region="qc")
    unlocked = browser(newcomer).post("/coverage/claim/", {"code": send_code(first)})
    assert unlocked.status_code == 302 and unlocked["Location"] == "/coverage/"
    first.refresh_from_db()
    assert first.account == newcomer

    wrong_codes(eighth, 1)  # the thirtieth

    # Now another account, with no wrong code of its own, is refused even the right code.
    second = make_record(emails={"second@example.org": "personal"})
    code = send_code(second)
    late = make_account(email="late@example.org", region="qc")
    refused = browser(late, language=language).post("/coverage/claim/", {"code": code})
    assert refused.status_code == 200 and message in page(refused)
    second.refresh_from_db()
    assert second.account is None
    assert AccessCode.objects.get(record=second).used_at is None
    event = Event.objects.filter(kind="coverage.claim_refused", account=late).get()
    assert event.data["reason"] == "throttled" and event.ip_address == ADDRESS

    # The same account from another address is not held back: the limit is the address's.
    moved = browser(late, ELSEWHERE).post("/coverage/claim/", {"code": code})
    assert moved.status_code == 302
    second.refresh_from_db()
    assert second.account == late


def test_wrong_codes_from_other_addresses_do_not_add_up():
    for n in range(8):
        wrong_codes(person(n), 4, address=f"203.0.113.{10 + n}")
    record = make_record()
    account = make_account(email="late@example.org", region="qc")
    assert browser(account).post("/coverage/claim/", {"code": send_code(record)}).status_code == 302
    assert CoverageRecord.objects.get(pk=record.pk).account == account


# --- Code resends: 10 an hour per client address -----------------------------------------


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("fr", "Trop de demandes. Réessayez dans une heure."),
        ("en", "Too many requests. Try again in an hour."),
    ],
)
def test_ten_resends_from_one_address_stop_every_account_there(language, message):
    assert throttles.RESENDS_PER_ADDRESS.limit == 10
    assert throttles.RESENDS_PER_ACCOUNT.limit == 5
    make_record(emails={"olivier@example.org": "personal"})
    accounts = [person(n) for n in range(3)]
    # 4 + 4 + 2 = 10 requests, each account under its five an hour.
    for account, count in zip(accounts, [4, 4, 2], strict=True):
        client = browser(account)
        for n in range(count):
            answer = client.post("/coverage/resend/", {"email": f"guess{n}@example.org"})
            assert answer.status_code == 302 and answer["Location"] == "/coverage/"

    # The eleventh, from an account that asked only twice, is refused and sends nothing,
    # even for an invited address.
    third = browser(accounts[2], language=language)
    refused = third.post("/coverage/resend/", {"email": "olivier@example.org"})
    assert refused.status_code == 200 and message in page(refused)
    assert not Message.objects.filter(to="olivier@example.org").exists()
    event = Event.objects.get(kind="coverage.code_request_throttled")
    assert event.account == accounts[2] and event.ip_address == ADDRESS

    # A fresh account at that address is refused too.
    newcomer = browser(make_account(email="newcomer@example.org", region="qc"), language=language)
    assert message in page(newcomer.post("/coverage/resend/", {"email": "olivier@example.org"}))
    assert not Message.objects.filter(to="olivier@example.org").exists()

    # From another address the same account gets its code.
    moved = browser(accounts[2], ELSEWHERE).post(
        "/coverage/resend/", {"email": "olivier@example.org"}
    )
    assert moved.status_code == 302
    assert Message.objects.filter(to="olivier@example.org", template="coverage_code").count() == 1
    assert last_code("olivier@example.org")
