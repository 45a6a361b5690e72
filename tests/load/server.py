"""A real portal process on loopback, and sign-in attempts against it over HTTP."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

BIN = Path(sys.executable).parent
PASSWORD = "a long enough passphrase"
CREATE = (
    "import django; django.setup();"
    "from vestibule.accounts.models import Account;"
    "from django.core.cache import cache; cache.clear();"
    "a = Account(email='marie@example.org', kind='member', status='active');"
    f"a.set_password({PASSWORD!r}); a.save()"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def portal_env(var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a portal on its own SQLite file in `var_dir`, with one account."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        VESTIBULE_VAR_DIR=str(var_dir),
        VESTIBULE_PROFILE="default",
        DJANGO_SETTINGS_MODULE="vestibule.settings",
        **extra,
    )
    subprocess.run([BIN / "vestibule", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([sys.executable, "-c", CREATE], env=env, check=True)
    return env


@contextlib.contextmanager
def running(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Start `command` (a server on `port`), wait until it answers, yield its base URL."""
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/help/", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(10)


def attempt(base: str, password: str) -> str:
    """One sign-in as marie@example.org from a new browser: ok, invalid, locked…"""
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
