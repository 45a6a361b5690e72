"""Lockout counters shared by two real gunicorn workers through Redis (REDIS_URL)."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (shared counters)")
BIN = Path(sys.executable).parent
PASSWORD = "a long enough passphrase"
CREATE = (
    "import django; django.setup();"
    "from vestibule.accounts.models import Account;"
    "a = Account(email='marie@example.org', kind='member', status='active');"
    f"a.set_password({PASSWORD!r}); a.save()"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def portal(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        VESTIBULE_VAR_DIR=str(tmp_path),
        REDIS_URL=REDIS_URL,
        VESTIBULE_PROFILE="default",
        DJANGO_SETTINGS_MODULE="vestibule.settings",
    )
    subprocess.run([BIN / "vestibule", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([sys.executable, "-c", CREATE], env=env, check=True)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.core.cache import cache; cache.clear()",
        ],
        env=env,
        check=True,
    )
    # Each worker serves at most two requests before it is replaced: the attempts are
    # spread over several processes, whose local memory would forget the count.
    server = subprocess.Popen(
        [
            BIN / "gunicorn",
            "vestibule.wsgi",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--max-requests",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/help/", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    yield base
    server.terminate()
    server.wait(10)


def attempt(base: str, password: str) -> str:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode(
        {"identifier": "marie@example.org", "password": password, "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"{base}/login/", data=body, headers={"Referer": base})
    html = opener.open(request, timeout=10).read().decode()
    match = re.search(r'data-outcome="(\w+)"', html)
    return match.group(1) if match else "ok"


def test_five_failures_spread_over_workers_lock_the_account(portal):
    assert [attempt(portal, "wrong password here") for _ in range(5)] == ["invalid"] * 5
    assert attempt(portal, PASSWORD) == "locked"
