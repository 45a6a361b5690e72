"""Parallel guesses against real servers (issue 12, item 1): `vestibule serve` without Redis
(one process, threads), and two gunicorn workers sharing Redis.

The review that found the race sent twenty sign-ins at once (19 wrong, 1 right) and saw
8 to 20 passwords evaluated against a limit of five, and the right one accepted after the
lock. Here the server's own audit log says how many passwords it evaluated.
"""

import os
import re
import sqlite3
import threading
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.load.server import BIN, PASSWORD, free_port, portal_env, running

REDIS_URL = os.environ.get("REDIS_URL", "")
THRESHOLD = 5
BURST = 20


def prepared_sign_in(base: str, password: str, ip_hint: int):
    """A browser that has loaded the sign-in page; calling the result posts the password."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"identifier": "marie@example.org", "password": password, "csrfmiddlewaretoken": token}
    ).encode()

    def post() -> str:
        request = urllib.request.Request(f"{base}/login/", data=body, headers={"Referer": base})
        html = opener.open(request, timeout=30).read().decode()
        match = re.search(r'data-outcome="(\w+)"', html)
        return match.group(1) if match else "ok"

    return post


def burst(base: str, passwords: list[str]) -> list[str]:
    posts = [prepared_sign_in(base, p, i) for i, p in enumerate(passwords)]
    barrier = threading.Barrier(len(posts))
    outcomes: list[str] = [""] * len(posts)

    def run(index: int) -> None:
        barrier.wait()
        outcomes[index] = posts[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def audit(var_dir) -> list[str]:
    with sqlite3.connect(var_dir / "vestibule-default.sqlite3") as db:
        rows = db.execute(
            "SELECT kind FROM audit_event WHERE kind IN "
            "('sign_in.failed', 'account.locked', 'sign_in.succeeded') ORDER BY id"
        )
        return [kind for (kind,) in rows]


def check_burst(base: str, var_dir, right_at: int | None) -> None:
    passwords = [f"wrong guess {i}" for i in range(BURST - (right_at is not None))]
    if right_at is not None:
        passwords.insert(right_at, PASSWORD)
    outcomes = burst(base, passwords)
    kinds = audit(var_dir)
    assert "account.locked" in kinds or "ok" in outcomes
    if "account.locked" in kinds and "sign_in.succeeded" in kinds:
        assert kinds.index("sign_in.succeeded") < kinds.index("account.locked")
    if "ok" not in outcomes:
        assert kinds.count("sign_in.failed") == THRESHOLD
        assert outcomes.count("invalid") == THRESHOLD


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


def test_twenty_parallel_wrong_guesses_on_one_threaded_process_evaluate_five(serve_threads):
    check_burst(*serve_threads, right_at=None)


def test_the_right_password_in_a_burst_is_never_accepted_after_the_lock(serve_threads):
    check_burst(*serve_threads, right_at=BURST - 1)


def test_twenty_parallel_wrong_guesses_on_two_workers_evaluate_five(two_workers_on_redis):
    check_burst(*two_workers_on_redis, right_at=None)


def test_the_right_password_on_two_workers_is_never_accepted_after_the_lock(
    two_workers_on_redis,
):
    check_burst(*two_workers_on_redis, right_at=BURST // 2)
