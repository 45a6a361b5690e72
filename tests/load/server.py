"""A real portal process on loopback, and sign-in attempts against it over HTTP."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from http.cookiejar import Cookie, CookieJar
from pathlib import Path

import dj_database_url
import psycopg
from django.conf import settings as django_settings

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
    """Start `command` (a server on `port`), wait until it answers, yield its base URL. Its
    error log goes to server-PORT.log in its VESTIBULE_VAR_DIR (never to a pipe that no one
    reads: an outage's tracebacks would fill it and hang the server's workers)."""
    log = Path(env["VESTIBULE_VAR_DIR"]) / f"server-{port}.log"
    with log.open("wb") as output:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=output)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/help/", timeout=5).close()
            break
        except OSError:  # refused, reset, or still booting (timed out)
            time.sleep(0.2)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(10)


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path, interval: float = 0.1) -> Iterator[subprocess.Popen]:
    """`vestibule worker` running (its output in `log`) until the block ends."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [BIN / "vestibule", "worker", "--interval", str(interval)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)


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


def fetch(opener, url: str, data: dict[str, str] | None = None):
    """(status, headers, body) of one request; error statuses are answers too."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Referer": url})
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def browser(language: str):
    """A browser whose visitor chose `language` (the portal's language cookie). Cookies
    ignore ports: one browser reaches every node on 127.0.0.1, as behind one balancer."""
    jar = CookieJar()
    jar.set_cookie(
        Cookie(
            0, django_settings.LANGUAGE_COOKIE_NAME, language, None, False, "127.0.0.1", False,
            False, "/", True, False, None, True, None, None, {},
        )
    )  # fmt: skip
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def csrf_token(opener, base: str) -> str:
    page = fetch(opener, f"{base}/login/")[2]
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


# --- Parallel guesses: the race the review ran (issue 12), on one node or several --------

THRESHOLD = 5  # the default profile's lockout.threshold


def prepared_sign_in(base: str, password: str) -> Callable[[], str]:
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


def burst(bases: Sequence[str], passwords: list[str]) -> list[str]:
    """Every password posted at once, the attempts dealt round the nodes in `bases`."""
    posts = [prepared_sign_in(bases[i % len(bases)], p) for i, p in enumerate(passwords)]
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


def check_burst(
    bases: Sequence[str], audit: Callable[[], list[str]], size: int, right_at: int | None
) -> None:
    """`size` sign-ins at once (wrong ones, and the right one at `right_at`): the server's own
    audit log (`audit()`: the kinds of sign_in.failed, account.locked and sign_in.succeeded
    events, in order) shows the threshold was never passed, nor the lock ignored."""
    passwords = [f"wrong guess {i}" for i in range(size - (right_at is not None))]
    if right_at is not None:
        passwords.insert(right_at, PASSWORD)
    outcomes = burst(bases, passwords)
    kinds = audit()
    assert "account.locked" in kinds or "ok" in outcomes
    if "account.locked" in kinds and "sign_in.succeeded" in kinds:
        assert kinds.index("sign_in.succeeded") < kinds.index("account.locked")
    if "ok" not in outcomes:
        assert kinds.count("sign_in.failed") == THRESHOLD
        # The failure that locks says "locked" at once: one fewer "invalid".
        assert outcomes.count("invalid") == THRESHOLD - 1


# --- PostgreSQL: a database of the test's own on the server of DATABASE_URL ---------------


def postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else ""


@contextlib.contextmanager
def postgres_database(name: str) -> Iterator[tuple[dict, str]]:
    """Create `name` on DATABASE_URL's server, drop it after; yield (admin, its URL)."""
    real = dj_database_url.parse(postgres_url())
    admin = {
        "host": real["HOST"] or "127.0.0.1",
        "port": int(real["PORT"] or 5432),
        "user": real["USER"],
        "password": real["PASSWORD"] or None,
        "dbname": real["NAME"],
        "autocommit": True,
    }
    with psycopg.connect(**admin) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    credentials = real["USER"] + (f":{real['PASSWORD']}" if real["PASSWORD"] else "")
    try:
        yield admin, f"postgres://{credentials}@{admin['host']}:{admin['port']}/{name}"
    finally:
        with psycopg.connect(**admin) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
