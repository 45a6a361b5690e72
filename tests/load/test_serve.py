"""`vestibule serve` without Redis: one process whose threads share the counters."""

import subprocess
from concurrent.futures import ThreadPoolExecutor

from tests.load.server import BIN, PASSWORD, attempt, free_port, portal_env, running


def test_concurrent_failures_lock_after_exactly_the_threshold(tmp_path):
    port = free_port()
    env = portal_env(tmp_path)
    with running([BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}"], env, port) as base:
        with ThreadPoolExecutor(5) as pool:
            outcomes = list(pool.map(lambda _: attempt(base, "wrong password here"), range(5)))
        # Exactly one of the five is the failure that locks, and it says so.
        assert sorted(outcomes) == ["invalid"] * 4 + ["locked"]
        assert attempt(base, PASSWORD) == "locked"


def test_serve_refuses_several_processes_without_a_shared_cache(tmp_path):
    env = portal_env(tmp_path)
    result = subprocess.run(
        [BIN / "vestibule", "serve", "--workers", "3"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr
