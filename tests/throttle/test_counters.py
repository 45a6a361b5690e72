"""The counters under the lockout and the throttles: a window that counts, then ends.

On the local-memory cache and, when REDIS_URL is set (CI), on Redis.
"""

import random
import time

import pytest
from django.conf import settings
from django.core.cache import cache

from vestibule.throttle import counters
from vestibule.throttle.counters import Rate

RATE = Rate(limit=3, period=60)


def test_hits_count_up_and_a_give_back_never_goes_below_zero():
    assert [counters.hit("t", "a", RATE) for _ in range(3)] == [1, 2, 3]
    counters.give_back("t", "a", 2)
    assert counters.count("t", "a") == 1
    counters.give_back("t", "a", 5)
    assert counters.count("t", "a") == 0
    assert counters.hit("t", "a", RATE) == 1


def test_a_give_back_leaves_a_vanished_counter_gone():
    counters.give_back("t", "never-hit")
    assert cache.get(counters._key("t", "never-hit")) is None
    assert counters.hit("t", "never-hit", RATE) == 1


def test_a_counter_ends_with_its_window():
    counters.hit("t", "short", Rate(limit=3, period=1))
    counters.hit("t", "short", Rate(limit=3, period=1))
    time.sleep(1.2)
    assert counters.count("t", "short") == 0
    assert counters.hit("t", "short", Rate(limit=3, period=1)) == 1


def test_reserve_or_wait_gives_refusals_back():
    rate = Rate(limit=2, period=60)
    answers = [counters.reserve_or_wait("r", "x", rate) for _ in range(4)]
    assert answers[:2] == [0, 0] and all(58 <= wait <= 60 for wait in answers[2:])
    assert counters.count("r", "x") == 2


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")
@pytest.mark.parametrize("step", ["hit", "give_back"])
def test_a_window_ending_while_it_is_counted_leaves_no_counter_without_an_end(step):
    """Django's Redis incr() is EXISTS then INCRBY: a window that ended between the two
    left a counter with no expiry, which then counted (an address, an account) for ever."""
    import redis

    server = redis.Redis.from_url(settings.REDIS_URL)
    chooser = random.Random(18)
    endless = 0
    for attempt in range(600):
        subject = f"edge-{step}-{attempt}"
        key = cache.make_key(counters._key("t", subject))
        server.set(key, 2, px=2)  # the window ends in 2 ms…
        until = time.perf_counter() + chooser.uniform(0.0015, 0.0022)
        while time.perf_counter() < until:  # …around the moment this counts in it
            pass
        if step == "hit":
            counters.hit("t", subject, RATE)
        else:
            counters.give_back("t", subject)
        endless += server.ttl(key) == -1
    assert endless == 0
