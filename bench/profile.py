"""Where one request's time goes (issue 18): the budget of a sign-in, a locked account's
refusal and a portal page, in one process, without HTTP.

    .venv/bin/python bench/profile.py [--rounds 60] [--postgres] [--output FILE]

Django's test client calls the portal as gunicorn's worker would, minus HTTP parsing and
the worker loop. For each request: the median CPU time of the thread (time.thread_time,
so other processes of the machine do not count), of which the password hash (Argon2id's
verification, timed around the hasher), and what is left for everything else; the SQL
statements (and how many are writes: BEGIN or SAVEPOINT … COMMIT blocks); the cache round
trips (every call on the local-memory cache; on Redis, every command or pipeline redis-py
sends: sessions included when they live in Redis).

Without --postgres: SQLite and the local-memory cache, the embedded default (sessions in
the database). With --postgres: PostgreSQL + Redis as on several nodes (sessions in Redis),
on the database `vestibule_bench` (dropped and created afresh) and Redis database 3
(emptied), like bench/login.py.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness import CODE, bench_database_url, postgres_recreate, publish, redis_flush, table

PASSWORD = "a long enough passphrase"
REDIS = "redis://127.0.0.1:6379/3"
CACHE_METHODS = ("get", "set", "add", "incr", "decr", "delete", "get_many", "set_many", "touch")


def django_start(postgres: bool, var_dir: str) -> None:
    sys.path.insert(0, str(CODE))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vestibule.settings",
        VESTIBULE_VAR_DIR=var_dir,
        VESTIBULE_PROFILE="default",
        ALLOWED_HOSTS="localhost",
    )
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("REDIS_URL", None)
    if postgres:
        url = bench_database_url("postgres://postgres@127.0.0.1:5432/vestibule_bench")
        postgres_recreate(url)
        redis_flush(REDIS)
        os.environ.update(DATABASE_URL=url, REDIS_URL=REDIS)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Counters:
    """SQL statements, cache calls and hash time of the requests in between two reset()s."""

    def __init__(self) -> None:
        from django.contrib.auth.hashers import get_hasher
        from django.core.cache import caches
        from django.db import connection

        self.statements: list[str] = []
        self.cache_calls = 0
        self.depth = 0
        self.hash_seconds = 0.0
        connection.execute_wrappers.append(self._statement)
        backend = caches["default"]
        if os.environ.get("REDIS_URL"):
            # Every command redis-py sends (a pipeline is one round trip), scripts included.
            import redis.client

            redis.client.Redis.execute_command = self._counted(redis.client.Redis.execute_command)
            redis.client.Pipeline.execute = self._counted(redis.client.Pipeline.execute)
        else:
            for name in CACHE_METHODS:
                setattr(backend, name, self._counted(getattr(backend, name)))
        hasher = get_hasher()
        hasher_class = type(hasher)
        verify = hasher_class.verify

        def timed_verify(hasher_self, password, encoded):
            started = time.thread_time()
            try:
                return verify(hasher_self, password, encoded)
            finally:
                self.hash_seconds += time.thread_time() - started

        hasher_class.verify = timed_verify

    def _statement(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def _counted(self, method):
        def counted(*args, **kwargs):
            # Only the outermost call: local memory's decr() calls its incr().
            self.depth += 1
            self.cache_calls += self.depth == 1
            try:
                return method(*args, **kwargs)
            finally:
                self.depth -= 1

        return counted

    def reset(self) -> None:
        self.statements.clear()
        self.cache_calls = 0
        self.hash_seconds = 0.0

    def writes(self) -> int:
        return sum(1 for sql in self.statements if sql.startswith(("BEGIN", "SAVEPOINT")))


def measure(name: str, prepare, request, rounds: int, counters: Counters) -> list[str]:
    cpu, hashes, statements, writes, cache_calls = [], [], [], [], []
    for _ in range(rounds):
        state = prepare()
        counters.reset()
        started = time.thread_time()
        response = request(state)
        cpu.append(time.thread_time() - started)
        assert response.status_code in (200, 302), (name, response.status_code)
        hashes.append(counters.hash_seconds)
        statements.append(len(counters.statements))
        writes.append(counters.writes())
        cache_calls.append(counters.cache_calls)
    total = statistics.median(cpu) * 1000
    hashed = statistics.median(hashes) * 1000
    rest = total - hashed
    return [
        name,
        f"{total:.1f}",
        f"{hashed:.1f}",
        f"{rest:.1f} ({rest / total:.0%})",
        str(statistics.median(statements)),
        str(statistics.median(writes)),
        str(statistics.median(cache_calls)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vestibule-profile-") as var_dir:
        django_start(options.postgres, var_dir)
        from django.core.cache import cache
        from django.test import Client

        from vestibule.accounts.models import Account

        member = Account(email="member@bench.example", kind="member", status="active")
        member.set_password(PASSWORD)
        member.save()
        locked = Account(email="locked@bench.example", kind="member", status="active")
        locked.set_password(PASSWORD)
        locked.save()
        Account.objects.filter(pk=locked.pk).update(locked_at="2026-01-01T00:00:00Z")
        counters = Counters()

        def browser_on_sign_in_page():
            cache.clear()  # no counter carries over from one round to the next
            browser = Client(HTTP_HOST="localhost")
            browser.get("/login/")
            return browser

        def signed_in():
            browser = browser_on_sign_in_page()
            browser.post("/login/", {"identifier": member.email, "password": PASSWORD})
            return browser

        def sign_in(email: str):
            return lambda browser: browser.post(
                "/login/", {"identifier": email, "password": PASSWORD}
            )

        for warm_up in (browser_on_sign_in_page, signed_in):
            warm_up()
        rows = [
            measure(
                "W1 sign-in (POST /login/ → 302)",
                browser_on_sign_in_page,
                sign_in(member.email),
                options.rounds,
                counters,
            ),
            measure(
                "W2 locked account (POST /login/ → 200)",
                browser_on_sign_in_page,
                sign_in(locked.email),
                options.rounds,
                counters,
            ),
            measure(
                "W3 portal page (GET /portal/ signed in)",
                signed_in,
                lambda browser: browser.get("/portal/"),
                options.rounds,
                counters,
            ),
        ]
    where = "PostgreSQL + Redis" if options.postgres else "SQLite + local memory"
    text = f"One request at a time, one process, {where}; medians of {options.rounds}.\n\n"
    text += table(
        [
            "request",
            "CPU ms",
            "hash ms",
            "everything else ms (share)",
            "SQL statements",
            "write transactions",
            "cache round trips",
        ],
        rows,
    )
    publish(text, options.output)


if __name__ == "__main__":
    main()
