"""Management API batch (issue 15): `POST /api/v1/members:batch` of 10,000 rows over HTTP
beside `vestibule import-members` of the same rows as a CSV file.

    .venv/bin/python bench/api_batch.py [--rows 10000] [--postgres [--database NAME]
                                        [--redis-db N]] [--output FILE]

SQLite always; with --postgres, PostgreSQL too (database `vestibule_bench`, or NAME, dropped
and created afresh before each path) and Redis (db 3, or N, emptied). Each path starts on an
empty registry and runs twice: the first run creates every member, the second finds every
one unchanged (the batch is idempotent, like the import).

- import: the CLI as a subprocess (bench/import_members.py's `timed_import`); its wall time
  includes the command's start-up, so the table also gives it without: minus the time of an
  import of the header line alone.
- batch: gunicorn on 127.0.0.1 as bench/oidc.py starts it (SQLite: one process, 5 threads;
  PostgreSQL: 2 sync workers), an API client registered with `api_client_add`, a token from
  POST /o/token/ (client credentials, not timed), then one POST of the whole JSON body (built
  beforehand), timed from the first byte sent to the last byte of the report read.
"""

import argparse
import base64
import csv
import http.client
import json
import os
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from harness import (
    BENCH_REDIS_URL,
    DEFAULT_DATABASE_URL,
    QuietMachine,
    bench_database_url,
    gunicorn,
    portal_env,
    postgres_recreate,
    redis_flush,
    run_portal_command,
    script_json,
    table,
)
from import_members import _SUMMARY, members_csv, timed_import

QUIET = QuietMachine(patience=10, budget=60)
HEADER = ["database", "path", "run", "rows", "created", "unchanged", "rejected"]
HEADER += ["seconds", "rows/s", "rows/s without start-up"]


def setup() -> None:
    """In the portal's environment: register the bench's API client; prints its JSON."""
    import django

    django.setup()
    from vestibule.api.clients import api_client_add

    client, secret = api_client_add(
        name="bench", scopes=["registry:write"], rate_per_minute=100_000
    )
    print(json.dumps({"client_id": client.client_id, "secret": secret}))


def setup_call(env: dict[str, str]) -> dict[str, str]:
    return script_json(__file__, env, "--setup")


def http_call(port: int, method: str, path: str, body: bytes, headers: dict[str, str]):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        connection.request(method, path, body=body, headers={"Host": "127.0.0.1", **headers})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def access_token(port: int, client_id: str, secret: str) -> str:
    body = urllib.parse.urlencode(
        {"grant_type": "client_credentials", "scope": "registry:write"}
    ).encode()
    status, answer = http_call(
        port,
        "POST",
        "/o/token/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"}
        | {"Authorization": "Basic " + _basic(client_id, secret)},
    )
    if status != 200:
        raise RuntimeError(f"/o/token/ answered {status}: {answer[:500]!r}")
    return json.loads(answer)["access_token"]


def _basic(client_id: str, secret: str) -> str:
    quote = urllib.parse.quote
    return base64.b64encode(f"{quote(client_id)}:{quote(secret)}".encode()).decode()


def batch_body(csv_path: Path) -> bytes:
    """The CSV's rows as the batch's JSON: the same values, `active` a boolean."""
    with csv_path.open(encoding="utf-8", newline="") as handle:
        rows = [
            {**row, "active": row["active"].strip().lower() in {"yes", "1", "true", ""}}
            for row in csv.DictReader(handle)
        ]
    return json.dumps({"members": rows}).encode()


def import_path(label: str, csv_path: Path, rows: int, env: dict[str, str]) -> list[list[str]]:
    run_portal_command(["migrate", "--noinput"], env)
    header_only = csv_path.with_name("header.csv")
    header_only.write_text(csv_path.read_text(encoding="utf-8").splitlines()[0] + "\n")
    results = []
    for run, wanted in (("first (all created)", (rows, 0, 0, 0)), ("second", (0, 0, rows, 0))):
        QUIET.wait()
        # Beside each run, so that a busier stretch of the machine weighs on both.
        start_up = min(timed_import(header_only, env, timeout=120)[0] for _ in range(2))
        seconds, _peak, text = timed_import(csv_path, env, timeout=1800)
        found = _SUMMARY.search(text)
        if found is None or tuple(map(int, found.groups())) != wanted:
            raise RuntimeError(f"{label} import {run}: unexpected report:\n{text[-2000:]}")
        results.append(
            [
                label,
                "`vestibule import-members`",
                run if wanted[0] else "second (all unchanged)",
                f"{rows:,}",
                f"{wanted[0]:,}",
                f"{wanted[2]:,}",
                "0",
                f"{seconds:.2f}",
                f"{rows / seconds:,.0f}",
                f"{rows / (seconds - start_up):,.0f} (start-up {start_up:.2f} s)"
                if seconds > start_up
                else f"— (start-up {start_up:.2f} s, the machine was busy)",
            ]
        )
        print("| " + " | ".join(results[-1]) + " |", flush=True)
    return results


def batch_path(
    label: str, body: bytes, rows: int, env: dict[str, str], workers: int, threads: int
) -> list[list[str]]:
    run_portal_command(["migrate", "--noinput"], env)
    credentials = setup_call(env)
    served = f"{workers} × {threads} threads" if threads > 1 else f"{workers} sync workers"
    results = []
    with gunicorn(env, workers=workers, threads=threads) as server:
        token = access_token(server.port, credentials["client_id"], credentials["secret"])
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for run, wanted in (
            ("first (all created)", (rows, 0)),
            ("second (all unchanged)", (0, rows)),
        ):
            QUIET.wait()
            started = time.perf_counter()
            status, answer = http_call(server.port, "POST", "/api/v1/members:batch", body, headers)
            seconds = time.perf_counter() - started
            if status != 200:
                raise RuntimeError(
                    f"{label} batch {run}: {status} {answer[:500]!r}\n{server.last_error()}"
                )
            report = json.loads(answer)
            found = (report["created"], report["unchanged"])
            if found != wanted or report["rejected"]:
                raise RuntimeError(f"{label} batch {run}: unexpected report {found}")
            results.append(
                [
                    label,
                    f"`POST /api/v1/members:batch` (gunicorn, {served})",
                    run,
                    f"{rows:,}",
                    f"{wanted[0]:,}",
                    f"{wanted[1]:,}",
                    "0",
                    f"{seconds:.2f}",
                    f"{rows / seconds:,.0f}",
                    "—",
                ]
            )
            print("| " + " | ".join(results[-1]) + " |", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true", help="also PostgreSQL + Redis")
    parser.add_argument("--database", default="", help="with --postgres: this database")
    parser.add_argument("--redis-db", type=int, help="with --postgres: this Redis db (3)")
    parser.add_argument("--output", type=Path, help="write the markdown table here too")
    parser.add_argument("--setup", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.setup:
        setup()
        return 0

    results: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="vestibule-bench-api-batch-") as temp:
        csv_path = Path(temp) / "members.csv"
        members_csv(csv_path, options.rows)
        body = batch_body(csv_path)
        print(f"batch body: {len(body):,} bytes", file=sys.stderr)
        print("| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER), flush=True)
        results += import_path("SQLite", csv_path, options.rows, portal_env(Path(temp) / "i"))
        env = portal_env(Path(temp) / "b")
        results += batch_path("SQLite", body, options.rows, env, workers=1, threads=5)
        if options.postgres:
            database_url = bench_database_url(
                os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
            )
            if options.database:
                parts = urllib.parse.urlsplit(database_url)
                database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{options.database}"))
            redis_url = BENCH_REDIS_URL
            if options.redis_db is not None:
                redis_url = f"{BENCH_REDIS_URL.rsplit('/', 1)[0]}/{options.redis_db}"
            label = "PostgreSQL + Redis"
            for path in ("import", "batch"):
                postgres_recreate(database_url)
                redis_flush(redis_url)
                env = portal_env(
                    Path(temp) / f"pg-{path}", database_url=database_url, redis_url=redis_url
                )
                if path == "import":
                    results += import_path(label, csv_path, options.rows, env)
                else:
                    results += batch_path(label, body, options.rows, env, workers=2, threads=1)
        note = f"Batch body {len(body):,} bytes. Other work on the machine: {QUIET.describe()}."
        print(note)
    if options.output:
        options.output.write_text(f"{table(HEADER, results)}\n\n{note}\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
