"""Issue 12, item 10: with Redis or the database away, pages answer 503 and recover alone.

Real faults only: a redis-server of the test's own, stopped and started again on the same
port; a TCP relay in front of Redis or PostgreSQL, cut and mended; an SQLite file that
can no longer be opened. The page is « Service temporairement indisponible » in French,
"Service temporarily unavailable" in English, with Retry-After; a sign-in during a cache
outage computes no password hash, so no attempt is ever tried without being counted.
"""

import contextlib
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.factories import PASSWORD, make_account
from tests.load.faults import REDIS_SERVER, RedisServer, TcpRelay
from tests.load.server import (
    BIN,
    browser,
    csrf_token,
    fetch,
    free_port,
    portal_env,
    postgres_database,
    postgres_url,
)

TITLES = {"fr": "Service temporairement indisponible", "en": "Service temporarily unavailable"}
EMAIL = "marie@example.org"
WRONG = "definitely not the password"
SIGNED_IN = 'data-testid="name-menu"'
needs_redis = pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary")


def assert_unavailable(status: int, headers, body: str, language: str) -> None:
    assert status == 503, body[:500]
    assert headers["Retry-After"] == "30"
    assert TITLES[language] in body
    assert f'<html lang="{language}">' in body


def _use_redis(settings, url: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "outage-test",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
        }
    }
    settings.SESSION_ENGINE = "vestibule.accounts.session_engines.cache"


@pytest.fixture
def redis_server(settings, tmp_path) -> Iterator[RedisServer]:
    """The portal's cache and sessions on a redis-server of this test's own."""
    server = RedisServer(tmp_path)
    server.start()
    saved = settings.CACHES, settings.SESSION_ENGINE
    _use_redis(settings, server.url)
    yield server
    settings.CACHES, settings.SESSION_ENGINE = saved  # before it stops: teardown clears caches
    server.stop()


@pytest.fixture
def redis_relay(settings, tmp_path) -> Iterator[TcpRelay]:
    """The same, reached through a relay that the test cuts: Redis keeps its counts."""
    server = RedisServer(tmp_path)
    server.start()
    relay = TcpRelay(("127.0.0.1", server.port))
    relay.start()
    saved = settings.CACHES, settings.SESSION_ENGINE
    _use_redis(settings, f"redis://127.0.0.1:{relay.port}/0")
    yield relay
    settings.CACHES, settings.SESSION_ENGINE = saved
    relay.cut()
    server.stop()


def sign_in(language: str, password: str = PASSWORD):
    # As a server would: the exception becomes the handler's page instead of reaching us.
    browser = Client(raise_request_exception=False)
    browser.cookies[django_settings.LANGUAGE_COOKIE_NAME] = language
    return browser.post("/login/", {"identifier": EMAIL, "password": password})


def outcome(response) -> str:
    result = response.context.get("outcome") if response.context else None
    return result.outcome if result else "ok"


@needs_redis
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["fr", "en"])
def test_sign_in_answers_503_without_hashing_while_redis_is_down_then_works_again(
    redis_server, hashes, language
):
    make_account()
    assert sign_in(language).status_code == 302
    hashes.clear()

    redis_server.stop()
    for password in (PASSWORD, WRONG):
        response = sign_in(language, password)
        assert_unavailable(response.status_code, response, response.content.decode(), language)
    assert hashes == []  # refused before any password was evaluated

    redis_server.start()  # same port, same process: no restart of the portal
    assert sign_in(language).status_code == 302


@needs_redis
@pytest.mark.django_db
def test_a_cut_to_redis_neither_lets_a_guess_through_nor_forgets_the_count(redis_relay, hashes):
    make_account()
    assert [outcome(sign_in("fr", WRONG)) for _ in range(4)] == ["invalid"] * 4
    evaluated = len(hashes)

    redis_relay.cut()
    for _ in range(3):
        response = sign_in("fr", PASSWORD)
        assert_unavailable(response.status_code, response, response.content.decode(), "fr")
    assert len(hashes) == evaluated

    redis_relay.mend()
    # The fifth failure, counted after the four before the cut: it locks, and says so.
    assert outcome(sign_in("fr", WRONG)) == "locked"
    assert outcome(sign_in("fr", PASSWORD)) == "locked"
    assert len(hashes) == evaluated + 1  # the right password was not evaluated


# The database: a real `vestibule serve`, whose own request handling must recover.


def post_sign_in(opener, base: str, token: str):
    fields = {"identifier": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": token}
    return fetch(opener, f"{base}/login/", fields)


@contextlib.contextmanager
def serving(env: dict[str, str], directory: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (directory / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{base}/help/", timeout=10).close()
                    break
                except OSError:  # not listening yet, or a first page slow on a busy machine
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(10)


class SqliteFileGone:
    """The SQLite file can no longer be opened (a directory stands at its path)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.away = path.with_name(path.name + ".away")

    def cut(self) -> None:
        self.path.rename(self.away)
        self.path.mkdir()

    def mend(self) -> None:
        self.path.rmdir()
        self.away.rename(self.path)


@pytest.fixture
def postgres_through_relay() -> Iterator[tuple[str, TcpRelay]]:
    """A database of this test's own on the PostgreSQL of DATABASE_URL, through a relay."""
    with postgres_database(f"vestibule_outage_{os.getpid()}") as (admin, url):
        relay = TcpRelay((admin["host"], admin["port"]))
        relay.start()
        yield url.replace(f"{admin['host']}:{admin['port']}", f"127.0.0.1:{relay.port}"), relay
        relay.cut()


def _outage_and_recovery(base: str, fault) -> None:
    member = browser("fr")
    assert SIGNED_IN in post_sign_in(member, base, csrf_token(member, base))[2]
    assert fetch(member, f"{base}/portal/")[0] == 200
    visitor = browser("en")
    token = csrf_token(visitor, base)

    fault.cut()
    assert_unavailable(*fetch(member, f"{base}/portal/"), "fr")
    assert_unavailable(*post_sign_in(visitor, base, token), "en")

    fault.mend()  # the portal is not restarted
    deadline = time.monotonic() + 10
    while fetch(member, f"{base}/portal/")[0] != 200:
        assert time.monotonic() < deadline, "the portal did not recover"
        time.sleep(0.2)
    assert SIGNED_IN in post_sign_in(visitor, base, csrf_token(visitor, base))[2]


def test_pages_answer_503_while_the_sqlite_file_is_gone_then_work_again(tmp_path):
    env = portal_env(tmp_path)
    with serving(env, tmp_path) as base:
        _outage_and_recovery(base, SqliteFileGone(tmp_path / "vestibule-default.sqlite3"))


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_url(), reason="needs DATABASE_URL pointing at PostgreSQL")
def test_pages_answer_503_while_postgresql_is_cut_off_then_work_again(
    tmp_path, postgres_through_relay
):
    url, relay = postgres_through_relay
    env = portal_env(tmp_path, DATABASE_URL=url)
    with serving(env, tmp_path) as base:
        _outage_and_recovery(base, relay)
