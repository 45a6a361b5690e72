"""GET /api/v1/events benchmark (issue 15): how fast a SIEM reads the security events.

    .venv/bin/python bench/api_events.py [--postgres [--database NAME] [--redis-db N]]
                                         [--events 100000] [--page 500] [--rounds 3]
                                         [--output FILE]

Setup (a subprocess on the portal's code): `migrate`, then `--events` audit events written
through the ORM in batches of 5,000 (one transaction each: on PostgreSQL each batch has
its transaction id, as the feed's trigger records it), and one API client holding
audit:read with a rate limit out of the way. Then gunicorn on 127.0.0.1 as `vestibule serve`
runs it (SQLite: one process of 5 threads; --postgres: 2 sync workers, PostgreSQL database
`vestibule_bench_events`, or NAME, dropped and created afresh, and Redis db 4, or N,
emptied), a token from POST /o/token/ (client credentials), and one reader walks the whole
feed as a SIEM catching up does: GET /api/v1/events?limit=PAGE, then ?after=next, until a
page comes back empty, checking that every event came once and in order. `--rounds` walks;
the median is reported.
"""

import argparse
import base64
import http.client
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from harness import (
    CODE,
    PYTHON,
    gunicorn,
    percentile,
    portal_env,
    postgres_recreate,
    redis_flush,
    run_portal_command,
    table,
)

DATABASE = "vestibule_bench_events"
REDIS_DB = 4
BATCH = 5000


def setup(count: int) -> None:
    """Write `count` events and an audit:read API client; print the client's credentials."""
    import django

    django.setup()
    from django.db import transaction
    from django.utils import timezone

    from vestibule.api.clients import api_client_add
    from vestibule.audit.models import Event

    kinds = ["sign_in.failed", "sign_in.succeeded", "account.disabled", "sign_out"]
    now = timezone.now()
    for start in range(0, count, BATCH):
        with transaction.atomic():
            Event.objects.bulk_create(
                Event(
                    kind=kinds[i % len(kinds)],
                    subject=f"user{i}@bench.example",
                    ip_address=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                    user_agent="Mozilla/5.0 (bench)",
                    data={"by": "operator", "n": i},
                    created_at=now,
                )
                for i in range(start, min(start + BATCH, count))
            )
    client, secret = api_client_add(
        name="SIEM (bench)", scopes=["audit:read"], rate_per_minute=1_000_000
    )
    print(json.dumps({"client_id": client.client_id, "secret": secret}))


def request(port: int, method: str, path: str, body: str = "", headers=None) -> tuple:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        connection.request(
            method,
            path,
            body=body or None,
            headers={"Host": "127.0.0.1", "Connection": "close", **(headers or {})},
        )
        answer = connection.getresponse()
        content = answer.read()
        return answer.status, content, time.perf_counter() - started
    finally:
        connection.close()


def token(port: int, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, body, _ = request(
        port,
        "POST",
        "/o/token/",
        urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "audit:read"}),
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 200:
        raise RuntimeError(f"token: {status} {body[:300]!r}")
    return json.loads(body)["access_token"]


def walk(port: int, access_token: str, page: int, expected: int) -> dict:
    """Read the whole feed from the start; the pages' timings."""
    headers = {"Authorization": f"Bearer {access_token}"}
    after, seen, latencies, last_id = "", 0, [], 0
    started = time.perf_counter()
    while True:
        query = urllib.parse.urlencode({"limit": page, **({"after": after} if after else {})})
        status, body, seconds = request(port, "GET", f"/api/v1/events?{query}", headers=headers)
        if status != 200:
            raise RuntimeError(f"GET /api/v1/events: {status} {body[:300]!r}")
        answer = json.loads(body)
        latencies.append(seconds)
        events = answer["events"]
        if not events:
            break
        # Every event once, in the feed's order (ids grow within the bench's batches).
        if events[0]["id"] <= last_id or any(
            a["id"] >= b["id"] for a, b in itertools.pairwise(events)
        ):
            raise RuntimeError("events out of order or repeated")
        last_id = events[-1]["id"]
        seen += len(events)
        after = answer["next"]
    elapsed = time.perf_counter() - started
    if seen < expected:
        raise RuntimeError(f"the walk served {seen} events of {expected}")
    full = latencies[:-1]  # the last, empty page's latency is not a page of events
    return {
        "events": seen,
        "pages": len(latencies),  # the last, empty one included: the reader asks it too
        "seconds": elapsed,
        "pages_per_s": len(latencies) / elapsed,
        "events_per_s": seen / elapsed,
        "p50_ms": percentile(full, 0.5) * 1000,
        "p99_ms": percentile(full, 0.99) * 1000,
    }


def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-events-") as tmp:
        var_dir = Path(tmp)
        database_url = redis_url = ""
        if args.postgres:
            database_url = f"postgres://postgres@127.0.0.1:5432/{args.database}"
            redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
            postgres_recreate(database_url)
            redis_flush(redis_url)
        env = portal_env(var_dir, database_url=database_url, redis_url=redis_url)
        run_portal_command(["migrate"], env)
        started = time.perf_counter()
        result = subprocess.run(
            [PYTHON, str(Path(__file__).resolve()), "--setup", str(args.events)],
            env=env,
            cwd=CODE,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            raise RuntimeError(f"api_events.py --setup failed:\n{result.stdout}{result.stderr}")
        setup_seconds = time.perf_counter() - started
        credentials = json.loads(result.stdout.strip().splitlines()[-1])
        workers, threads = (2, 1) if args.postgres else (1, 5)
        with gunicorn(env, workers=workers, threads=threads) as server:
            access_token = token(server.port, credentials["client_id"], credentials["secret"])
            walks = [
                walk(server.port, access_token, args.page, args.events) for _ in range(args.rounds)
            ]
    database = "PostgreSQL + Redis" if args.postgres else "SQLite, local-memory cache"
    server_text = (
        "gunicorn -w 2 (sync)" if args.postgres else "gunicorn -w 1 -k gthread --threads 5"
    )
    median = {key: statistics.median(w[key] for w in walks) for key in walks[0]}
    rows = [
        [
            database,
            server_text,
            f"{args.events:,}",
            str(args.page),
            f"{median['pages_per_s']:.1f}/s ({min(w['pages_per_s'] for w in walks):.1f}–"
            f"{max(w['pages_per_s'] for w in walks):.1f})",
            f"{median['events_per_s']:,.0f}/s",
            f"{median['seconds']:.1f}",
            f"{median['p50_ms']:.0f}",
            f"{median['p99_ms']:.0f}",
        ]
    ]
    header = [
        "database",
        "server",
        "events",
        "page",
        "pages/s (lowest–highest walk)",
        "events/s",
        "seconds per walk",
        "p50 ms",
        "p99 ms",
    ]
    return (
        table(header, rows) + f"\n\nSetup (migrate excluded): {args.events:,} events written in "
        f"{setup_seconds:.1f} s; {args.rounds} walks of the whole feed, median.\n"
    )


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--setup":
        setup(int(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--redis-db", type=int, default=REDIS_DB)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", default="")
    args = parser.parse_args()
    text = run(args)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
