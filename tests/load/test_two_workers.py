"""Lockout counters shared by two real gunicorn workers through Redis (REDIS_URL)."""

import os

import pytest

from tests.load.server import BIN, PASSWORD, attempt, free_port, portal_env, running

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (shared counters)")


@pytest.fixture
def portal(tmp_path):
    port = free_port()
    env = portal_env(tmp_path, REDIS_URL=REDIS_URL)
    # Each worker serves at most two requests before it is replaced: the attempts are
    # spread over several processes, whose local memory would forget the count.
    command = [BIN / "gunicorn", "vestibule.wsgi", "-w", "2", "-b", f"127.0.0.1:{port}"]
    with running([*command, "--max-requests", "2"], env, port) as base:
        yield base


def test_five_failures_spread_over_workers_lock_the_account(portal):
    outcomes = [attempt(portal, "wrong password here") for _ in range(5)]
    assert outcomes == ["invalid"] * 4 + ["locked"]  # the fifth locks, and says so
    assert attempt(portal, PASSWORD) == "locked"
