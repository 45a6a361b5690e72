"""Recovery, the activation resend and the identifier reminder take as long for an unknown
identifier as for a known one (issue 12, low: 4–5 ms apart before).

A security property, not a performance target: each test compares the medians of 30
interleaved pairs of known and unknown requests, and allows a gap of a few percent of the
median. Timed is what a WSGI server sends: the response as the handler returns it, before
the server closes it (which is when the known path's e-mail is prepared).
"""

import statistics
import time
from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import make_account
from tests.flows.walk import answer, start
from vestibule.accounts.models import Account
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
PAIRS = 30
ROUNDS = 3  # a loaded machine may spoil one round; a leak shows in every round


class StopwatchClient(Client):
    """The test client, noting how long the handler took to produce each response."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        produce = self.handler.get_response
        self.elapsed = 0.0

        def timed(request):
            began = time.perf_counter()
            response = produce(request)
            self.elapsed = time.perf_counter() - began
            return response

        self.handler.get_response = timed


def gap(request: Callable[[str], float], known: str, unknown: str) -> tuple[float, float]:
    """(|median known − median unknown|, the smaller median) over PAIRS interleaved pairs."""
    timings: dict[str, list[float]] = {known: [], unknown: []}
    for pair in range(PAIRS):
        # Alternate which goes first, so a warming cache favours neither.
        for identifier in (known, unknown) if pair % 2 else (unknown, known):
            cache.clear()  # every request gets past the throttles: the known one sends
            timings[identifier].append(request(identifier))
    medians = [statistics.median(timings[known]), statistics.median(timings[unknown])]
    return abs(medians[0] - medians[1]), min(medians)


def assert_same_time(request: Callable[[str], float], known: str, unknown: str) -> None:
    request(known), request(unknown)  # templates and queries warmed up
    seen = []
    for _ in range(ROUNDS):
        difference, median = gap(request, known, unknown)
        if difference < 0.05 * median + 0.0002:
            return
        seen.append(f"{difference * 1000:.2f} ms on {median * 1000:.2f} ms")
    raise AssertionError(f"known and unknown identifiers differ: {seen}")


def test_recovery_takes_as_long_for_an_unknown_identifier():
    make_account(email="marie@example.org")

    def recover(identifier: str) -> float:
        client = StopwatchClient()
        start(client, "recovery")
        answer(client, "recovery", identifier=identifier)
        return client.elapsed

    assert_same_time(recover, "marie@example.org", "nobody@example.org")
    assert Message.objects.filter(to="marie@example.org", template="password_reset").count() > (
        PAIRS
    )
    assert not Message.objects.filter(to="nobody@example.org").exists()


def test_the_activation_resend_takes_as_long_for_an_unknown_identifier(use_profile):
    use_profile("community")
    make_account(email="pending@example.org", status=Account.Status.PENDING)

    def resend(identifier: str) -> float:
        client = StopwatchClient()
        client.post("/flow/activation/resend/", {"identifier": identifier})
        return client.elapsed

    assert_same_time(resend, "pending@example.org", "nobody@example.org")
    assert Message.objects.filter(to="pending@example.org", template="activation").count() > PAIRS
    assert not Message.objects.filter(to="nobody@example.org").exists()


def test_the_identifier_reminder_takes_as_long_for_an_unknown_address():
    make_account(email="marie@example.org")

    def remind(address: str) -> float:
        client = StopwatchClient()
        client.post("/login/forgotten-identifier/", {"email": address})
        return client.elapsed

    assert_same_time(remind, "marie@example.org", "nobody@example.org")
    assert Message.objects.filter(to="marie@example.org").count() > PAIRS
    assert not Message.objects.filter(to="nobody@example.org").exists()
