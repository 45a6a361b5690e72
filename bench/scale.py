"""Scale (issue 18): sign-ins with 1,000 accounts, then with 1,000,000 accounts and
10,000,000 audit events, on the same server in the same run.

    .venv/bin/python bench/scale.py [--postgres] [--accounts N] [--events N] [--output FILE]

login.py's W1 (successful sign-ins, closed loop, two requests in flight per core) runs on
its 1,000 accounts; then, the server still running, this script fills the database with
accounts (sharing one password hash) and audit events (spread over a year, a tenth of them
naming an account), and W1 runs again on the same 1,000 accounts. On PostgreSQL the fill
ends with VACUUM ANALYZE and a CHECKPOINT, as autovacuum would have done over the year.
Issue 18's target: the sign-in's p50 and p99 within 10 % of the small database's. SQLite by
default; with --postgres, PostgreSQL + Redis as in login.py.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from harness import (
    BENCH_REDIS_URL,
    DEFAULT_DATABASE_URL,
    bench_database_url,
    gunicorn,
    percentile,
    portal_env,
    postgres_recreate,
    publish,
    redis_flush,
    script_json,
    table,
)
from login import ACCOUNTS, QUIET, THREADS_PER_CORE, django_call, w1_sign_ins

BATCH = 20_000
KINDS = ["sign_in.succeeded", "sign_in.failed", "sign_in.refused_locked", "password.changed"]
HEADER = ["database", "accounts", "audit events added", "sign-ins/s", "p50 ms", "p99 ms"]
HEADER += ["p50, p99 vs 1,000 accounts", "target", "verdict"]


def fill(accounts: int, events: int) -> None:
    """Subprocess entry point (Django configured): add accounts up to `accounts` and
    `events` audit events, in batches; print what the database holds then."""
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from vestibule.accounts.models import Account
    from vestibule.audit.models import Event

    started = time.perf_counter()
    existing = Account.objects.count()
    password = Account.objects.values_list("password", flat=True).first()
    now = timezone.now()
    for start in range(existing, accounts, BATCH):
        with transaction.atomic():
            Account.objects.bulk_create(
                [
                    Account(
                        email=f"filler{i}@scale.example",
                        kind="member",
                        status=Account.Status.ACTIVE,
                        activated_at=now,
                        password=password,
                    )
                    for i in range(start, min(start + BATCH, accounts))
                ],
                batch_size=2000,
            )
    accounts_seconds = time.perf_counter() - started
    # Events by executemany: the ORM's per-field preparation would take longer than the run.
    first_id = Account.objects.order_by("pk").values_list("pk", flat=True).first()
    last_id = Account.objects.order_by("-pk").values_list("pk", flat=True).first()
    chooser = random.Random(2026)
    year = 365 * 24 * 3600
    table_name = connection.ops.quote_name(Event._meta.db_table)
    insert = (
        f"INSERT INTO {table_name} (kind, account_id, subject, ip_address, user_agent, data,"
        " created_at, xid) VALUES (%s, %s, %s, %s, %s, %s, %s, 0)"
    )
    started = time.perf_counter()
    for start in range(0, events, BATCH):
        rows = []
        for _ in range(min(BATCH, events - start)):
            account = chooser.randint(first_id, last_id) if chooser.random() < 0.1 else None
            moment = now - timedelta(seconds=chooser.randrange(year))
            rows.append(
                (
                    chooser.choice(KINDS),
                    account,
                    f"someone{chooser.randrange(1_000_000)}@scale.example",
                    f"10.{chooser.randrange(256)}.{chooser.randrange(256)}.{chooser.randrange(256)}",
                    "scale/1.0",
                    "{}",
                    connection.ops.adapt_datetimefield_value(moment),
                )
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, rows)
    events_seconds = time.perf_counter() - started
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        # Events arrive over a year in real life, and autovacuum keeps up with them; here
        # they arrive in minutes. Vacuum and checkpoint once, so that the second W1 measures
        # sign-ins and not PostgreSQL catching up on the bulk load (hint bits, visibility
        # map, the checkpointer writing 10 million rows out).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
            cursor.execute("CHECKPOINT")
    settle_seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "accounts": Account.objects.count(),
                "events": Event.objects.count(),
                "accounts_seconds": round(accounts_seconds, 1),
                "events_seconds": round(events_seconds, 1),
                "settle_seconds": round(settle_seconds, 1),
            }
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seconds", type=float, default=20.0, help="W1's length, each time")
    parser.add_argument("--output", type=Path, help="write the markdown section here too")
    parser.add_argument("--fill", nargs=2, type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.fill:
        fill(*options.fill)
        return 0

    database_url = redis_url = ""
    label, workers, server_threads = "SQLite", 1, 5
    if options.postgres:
        database_url = bench_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        redis_url = BENCH_REDIS_URL
        label, workers, server_threads = "PostgreSQL + Redis", 2, 1
        postgres_recreate(database_url)
        redis_flush(redis_url)
    threads = THREADS_PER_CORE * (os.cpu_count() or 1)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vestibule-bench-scale-") as temp:
        env = portal_env(
            Path(temp), database_url=database_url, redis_url=redis_url, trusted_proxies="127.0.0.1"
        )
        made = django_call(env, "--setup-accounts", str(ACCOUNTS))
        with gunicorn(env, workers, server_threads) as server:
            w1_sign_ins(server, 3, threads)  # warm-up, not kept: imports, caches, connections
            small = w1_sign_ins(server, options.seconds, threads)
            print(
                f"{label}, {made['accounts']} accounts: W1 {small.rate('ok'):.1f}/s",
                file=sys.stderr,
            )
            filled = script_json(
                __file__, env, "--fill", str(options.accounts), str(options.events), timeout=3600
            )
            print(f"filled: {filled}", file=sys.stderr)
            QUIET.wait()
            large = w1_sign_ins(server, options.seconds, threads)
            print(
                f"{label}, {filled['accounts']} accounts: W1 {large.rate('ok'):.1f}/s",
                file=sys.stderr,
            )
        base = [percentile(small.times("ok"), share) for share in (0.5, 0.99)]
        for phase, accounts, events in (
            (small, made["accounts"], 0),
            (large, filled["accounts"], filled["events"]),
        ):
            p50, p99 = (percentile(phase.times("ok"), share) for share in (0.5, 0.99))
            ratios = f"{p50 / base[0]:.2f} ×, {p99 / base[1]:.2f} ×"
            within = p50 <= base[0] * 1.1 and p99 <= base[1] * 1.1
            is_base = phase is small
            rows.append(
                [
                    label,
                    f"{accounts:,}",
                    f"{events:,}",
                    f"{phase.rate('ok'):.1f}{phase.spread('ok')}",
                    f"{p50 * 1000:.0f}",
                    f"{p99 * 1000:.0f}",
                    "—" if is_base else ratios,
                    "—" if is_base else "p50 and p99 ≤ 1.10 ×",
                    "—" if is_base else ("**met**" if within else "**not met**"),
                ]
            )
        note = (
            f"Filling took {filled['accounts_seconds']} s for the accounts and"
            f" {filled['events_seconds']} s for the events"
            + (
                f", then {filled['settle_seconds']} s for VACUUM ANALYZE and CHECKPOINT"
                if options.postgres
                else ""
            )
            + f". Other work on the machine:"
            f" {QUIET.describe()}."
        )
    section = f"{table(HEADER, rows)}\n\n{note}\n"
    publish(section, options.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
