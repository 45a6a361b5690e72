"""The lockout against parallel guesses (issue 12, item 1): an attacker sends requests at once.

Twenty sign-ins released together used to evaluate 8 to 20 passwords against a limit of five,
and the right one was accepted after the account was locked. Each attempt now reserves its
try before the hash. These tests run on SQLite and local memory, and on PostgreSQL and
Redis when DATABASE_URL and REDIS_URL are set (CI runs both).
"""

import re

import pytest
from django.test import Client

from tests.accounts.test_lockout import WRONG
from tests.concurrency import at_once
from tests.factories import PASSWORD, make_account
from vestibule.accounts import lockout
from vestibule.accounts.hashers import VestibuleArgon2Hasher
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.config import get_profile

pytestmark = pytest.mark.django_db(transaction=True)
THRESHOLD = 5
BURST = 20


@pytest.fixture
def verified(monkeypatch):
    """The passwords checked against an account's hash (list.append is thread-safe)."""
    calls: list[str] = []
    original = VestibuleArgon2Hasher.verify

    def counted(self, password, encoded):
        calls.append(password)
        return original(self, password, encoded)

    monkeypatch.setattr(VestibuleArgon2Hasher, "verify", counted)
    return calls


def attempt(identifier: str, password: str, ip: str) -> str:
    """One sign-in from a new browser, its outcome read from the page (response.context is
    not thread-safe: the test client fills it from a global signal)."""
    response = Client().post(
        "/login/", {"identifier": identifier, "password": password}, REMOTE_ADDR=ip
    )
    if response.status_code == 429:
        return "blocked"
    html = response.content.decode()
    if "data-locked-now" in html:
        return "locked_now"
    match = re.search(r'data-outcome="(\w+)"', html)
    return match.group(1) if match else "ok"


def guesses(passwords: list[str], identifier: str = "marie@example.org") -> list[str]:
    # Each guess from its own address: the address block is not what stops them here.
    return at_once(
        *(
            lambda p=p, i=i: attempt(identifier, p, ip=f"203.0.113.{i + 1}")
            for i, p in enumerate(passwords)
        )
    )


@pytest.mark.parametrize("round_", range(3))
def test_parallel_wrong_passwords_evaluate_no_more_than_the_threshold(round_, verified, inbox):
    account = make_account()
    outcomes = guesses([f"{WRONG} {i}" for i in range(BURST)])
    assert len(verified) == THRESHOLD
    # The attempt that locks says so, exactly one of them; the others are refused as locked.
    assert sorted(outcomes) == (
        ["invalid"] * (THRESHOLD - 1) + ["locked"] * (BURST - THRESHOLD) + ["locked_now"]
    )
    account.refresh_from_db()
    assert account.locked_at is not None
    assert Event.objects.filter(kind="sign_in.failed", account=account).count() == THRESHOLD
    assert Event.objects.filter(kind="account.locked", account=account).count() == 1
    assert len(inbox.wait_for("marie@example.org")) == 1  # one lock notice, not five


@pytest.mark.parametrize("round_", range(4))
def test_the_right_password_in_a_parallel_burst_is_never_accepted_after_the_lock(round_, verified):
    account = make_account()
    passwords = [f"{WRONG} {i}" for i in range(BURST - 1)]
    passwords.insert(round_ * 5, PASSWORD)
    outcomes = guesses(passwords)

    events = list(
        Event.objects.filter(account=account, kind__in=["account.locked", "sign_in.succeeded"])
        .order_by("pk")
        .values_list("kind", flat=True)
    )
    assert events in (
        ["account.locked"],
        ["sign_in.succeeded"],
        ["sign_in.succeeded", "account.locked"],
    )
    assert ("ok" in outcomes) == ("sign_in.succeeded" in events)
    wrong_checked = [p for p in verified if p != PASSWORD]
    # A success forgives only the failures completed before it began: at most the threshold
    # minus one of them, so no burst gets more wrong guesses than 4 + 5.
    assert len(wrong_checked) <= 2 * THRESHOLD - 1
    if "ok" not in outcomes:
        assert len(wrong_checked) <= THRESHOLD


def test_attempts_in_flight_hold_the_tries_so_the_sixth_is_refused_without_a_hash(rf):
    """The interleaving that beat the old check-then-count lock, made deterministic: six
    attempts begin before any finishes."""
    account = make_account()
    profile = get_profile()
    begun = [
        lockout.attempt_begin(
            account=account, typed="marie@example.org", ip="203.0.113.9", profile=profile
        )
        for _ in range(THRESHOLD + 1)
    ]
    assert begun[-1] is None and None not in begun[:-1]
    request = rf.post("/login/", REMOTE_ADDR="203.0.113.9")
    for attempt_ in begun[:-1]:
        lockout.attempt_failed(
            attempt_, account=account, typed="marie@example.org", profile=profile, request=request
        )
    account.refresh_from_db()
    assert account.locked_at is not None


def test_a_success_forgives_earlier_failures_but_not_attempts_in_flight_beside_it(rf):
    account = make_account()
    profile = get_profile()
    request = rf.post("/login/", REMOTE_ADDR="203.0.113.9")

    def begin():
        return lockout.attempt_begin(
            account=account, typed="marie@example.org", ip="203.0.113.9", profile=profile
        )

    def fail(attempt_):
        return lockout.attempt_failed(
            attempt_, account=account, typed="marie@example.org", profile=profile, request=request
        )

    for _ in range(2):
        fail(begin())  # two typos, finished
    right = begin()
    in_flight = [begin(), begin()]  # two guesses begin while the right password is hashed
    lockout.attempt_succeeded(right)
    # The two typos are forgiven; the two guesses in flight still count, and so three more.
    assert [fail(a) for a in in_flight] == [False, False]
    more = [begin() for _ in range(4)]
    assert more[-1] is None
    assert [fail(a) for a in more[:-1]] == [False, False, True]


def test_parallel_wrong_current_passwords_on_the_change_page_lock_like_sign_ins(verified):
    account = make_account()

    def change(i):
        client = Client()
        client.force_login(account)
        return client.post(
            "/account/password/",
            {
                "current_password": f"{WRONG} {i}",
                "password": "a new long passphrase",
                "password_confirm": "a new long passphrase",
            },
            REMOTE_ADDR=f"203.0.113.{i + 1}",
        ).status_code

    at_once(*(lambda i=i: change(i) for i in range(BURST)))
    assert len(verified) <= THRESHOLD
    account.refresh_from_db()
    assert account.locked_at is not None


def test_parallel_wrong_guesses_on_an_unknown_identifier_are_capped_like_an_account(monkeypatch):
    encoded: list[str] = []
    original = VestibuleArgon2Hasher.encode

    def counted(self, password, salt, *args, **kwargs):
        encoded.append(password)
        return original(self, password, salt, *args, **kwargs)

    monkeypatch.setattr(VestibuleArgon2Hasher, "encode", counted)
    outcomes = guesses([f"{WRONG} {i}" for i in range(BURST)], identifier="nobody@example.org")
    # The attempt that locks says so, exactly one of them; the others are refused as locked.
    assert sorted(outcomes) == (
        ["invalid"] * (THRESHOLD - 1) + ["locked"] * (BURST - THRESHOLD) + ["locked_now"]
    )
    assert len(encoded) == THRESHOLD  # the same cost, and the same story, as a real account
    assert not Account.objects.exists()


def test_an_attempt_reserved_just_after_an_unknown_identifier_locks_is_refused(rf):
    """The interleaving CI caught on PostgreSQL: the fifth failure on an unknown identifier
    locks it and clears its counts; an attempt that had passed the lock check before the lock
    reserved after the clear, found a fresh count, and hashed a sixth guess."""
    profile = get_profile()
    typed = "nobody@example.org"
    request = rf.post("/login/", REMOTE_ADDR="203.0.113.9")
    begun = [
        lockout.attempt_begin(account=None, typed=typed, ip="203.0.113.9", profile=profile)
        for _ in range(THRESHOLD)
    ]
    locks = [
        lockout.attempt_failed(a, account=None, typed=typed, profile=profile, request=request)
        for a in begun
    ]
    assert locks == [False] * (THRESHOLD - 1) + [True]
    late = lockout.attempt_begin(account=None, typed=typed, ip="203.0.113.9", profile=profile)
    assert late is None
