"""Parallel guesses against real servers (issue 12, item 1): `vestibule serve` without Redis
(one process, threads), and two gunicorn workers sharing Redis.

The review that found the race sent twenty sign-ins at once (19 wrong, 1 right) and saw
8 to 20 passwords evaluated against a limit of five, and the right one accepted after the
lock. Here the server's own audit log says how many passwords it evaluated.
"""

import os
import sqlite3

import pytest

from tests.load.server import BIN, check_burst, free_port, portal_env, running

REDIS_URL = os.environ.get("REDIS_URL", "")
BURST = 20


def audit(var_dir) -> list[str]:
    with sqlite3.connect(var_dir / "vestibule-default.sqlite3") as db:
        rows = db.execute(
            "SELECT kind FROM audit_event WHERE kind IN "
            "('sign_in.failed', 'account.locked', 'sign_in.succeeded') ORDER BY id"
        )
        return [kind for (kind,) in rows]


@pytest.fixture
def serve_threads(tmp_path):
    port = free_port()
    env = portal_env(tmp_path)
    with running([BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}"], env, port) as base:
        yield base, tmp_path


@pytest.fixture
def two_workers_on_redis(tmp_path):
    if not REDIS_URL:
        pytest.skip("needs REDIS_URL (shared counters)")
    port = free_port()
    env = portal_env(tmp_path, REDIS_URL=REDIS_URL)
    command = [BIN / "gunicorn", "vestibule.wsgi", "-w", "2", "--threads", "4"]
    with running([*command, "-b", f"127.0.0.1:{port}"], env, port) as base:
        yield base, tmp_path


def check(server, right_at: int | None) -> None:
    base, var_dir = server
    check_burst([base], lambda: audit(var_dir), BURST, right_at)


def test_twenty_parallel_wrong_guesses_on_one_threaded_process_evaluate_five(serve_threads):
    check(serve_threads, right_at=None)


def test_the_right_password_in_a_burst_is_never_accepted_after_the_lock(serve_threads):
    check(serve_threads, right_at=BURST - 1)


def test_twenty_parallel_wrong_guesses_on_two_workers_evaluate_five(two_workers_on_redis):
    check(two_workers_on_redis, right_at=None)


def test_the_right_password_on_two_workers_is_never_accepted_after_the_lock(
    two_workers_on_redis,
):
    check(two_workers_on_redis, right_at=BURST // 2)
