"""What one more node buys (issue 18): sign-ins and portal pages on one node, then on two
nodes sharing PostgreSQL and Redis, in one run on one machine.

    .venv/bin/python bench/nodes.py [--seconds 20] [--output FILE]

Three layouts, each a fresh set of gunicorn processes on the same database:
- one node, one sync worker (one process can use one core);
- two nodes, one sync worker each, on two ports: the second node of `deploy/compose.yaml`;
- one node, two sync workers (login.py's PostgreSQL layout), to tell what a second node
  costs beside a second worker on the same node.

W1 is login.py's (successful sign-ins, a fresh browser each time, two requests in flight
per core); with two nodes each client thread fetches its form from one node and posts it
to the other. W3 signs a browser in on one node, then asks for `/portal/` of each node in
turn with the same cookies: the session lives in Redis, not in a node. PostgreSQL (database
`vestibule_bench`, dropped and created afresh) and Redis (redis://127.0.0.1:6379/3, emptied
first), as login.py --postgres.

On one machine the second node gets the second core, minus what the load generator,
PostgreSQL and Redis use of it: read the ratio as what a node buys on a machine with one
spare core, not as what a second host would. Each phase says how many cores each group of
processes kept busy.
"""

import argparse
import contextlib
import itertools
import os
import sys
import tempfile
from pathlib import Path

from harness import (
    BENCH_REDIS_URL,
    DEFAULT_DATABASE_URL,
    Client,
    Server,
    bench_database_url,
    gunicorn,
    portal_env,
    postgres_recreate,
    publish,
    redis_flush,
    table,
)
from login import (
    ACCOUNTS,
    FIRST_FREE,
    PASSWORD,
    QUIET,
    THREADS_PER_CORE,
    Attempt,
    Phase,
    SignIn,
    closed_loop,
    django_call,
    email,
    w0_every_core,
)

LAYOUTS = (("one node, 1 worker", 1, 1), ("two nodes, 1 worker each", 2, 1))
LAYOUTS += (("one node, 2 workers", 1, 2),)


class Nodes:
    """Several gunicorn masters seen as one server: their processes, and their ports."""

    def __init__(self, servers: list[Server]) -> None:
        self.servers = servers

    def pids(self) -> list[int]:
        return [pid for server in self.servers for pid in server.pids()]

    def port(self, index: int) -> int:
        return self.servers[index % len(self.servers)].port

    def last_error(self) -> str:
        return "".join(server.last_error() for server in self.servers)


def w1_sign_ins(nodes: Nodes, seconds: float, threads: int) -> Phase:
    pool = list(range(FIRST_FREE, ACCOUNTS))

    def attempt_for(index: int) -> Attempt:
        form = SignIn(nodes.port(index))
        form.client = Client(nodes.port(index + 1))  # posted to the other node, if any
        return lambda n: form.attempt(email(pool[n % len(pool)]), PASSWORD)

    attempts = [attempt_for(i) for i in range(threads)]
    return closed_loop(nodes, "W1 sign-ins", attempts, seconds, limit=100_000)


def w3_portal(nodes: Nodes, seconds: float, threads: int) -> Phase:
    def attempt_for(index: int) -> Attempt:
        form = SignIn(nodes.port(index))
        result, _ = form.attempt(email(FIRST_FREE + index), PASSWORD)
        if result != "ok":
            raise RuntimeError(f"W3: sign-in of {email(FIRST_FREE + index)} answered {result}")
        browsers = [Client(nodes.port(index + k)) for k in range(len(nodes.servers))]
        for browser in browsers:
            browser.cookies = form.client.cookies  # one cookie jar: one browser, two nodes
        turns = itertools.count()  # this browser's own requests, one node after the other

        def get(n: int) -> tuple[str, float]:
            response = browsers[next(turns) % len(browsers)].get("/portal/")
            return ("ok" if response.status == 200 else f"http-{response.status}"), response.seconds

        return get

    attempts = [attempt_for(i) for i in range(threads)]
    return closed_loop(nodes, "W3 portal pages", attempts, seconds, limit=500_000)


def row(layout: str, phase: Phase, base: Phase | None) -> list[str]:
    rate = phase.rate("ok")
    return [
        layout,
        phase.name,
        f"{rate:.1f}/s{phase.spread('ok')}",
        phase.ms(0.5, "ok"),
        phase.ms(0.99, "ok"),
        "—" if base is None else f"{rate / base.rate('ok'):.2f} ×",
        f"{phase.cores('server'):.2f}",
        f"{phase.cores('database'):.2f}",
        f"{phase.cores('client'):.2f}",
        phase.summary(),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="each phase's length")
    parser.add_argument("--output", type=Path, help="write the markdown section here too")
    options = parser.parse_args(argv)
    database_url = bench_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    postgres_recreate(database_url)
    redis_flush(BENCH_REDIS_URL)
    threads = THREADS_PER_CORE * (os.cpu_count() or 1)
    rows, errors = [], ""
    with tempfile.TemporaryDirectory(prefix="vestibule-bench-nodes-") as temp:
        env = portal_env(
            Path(temp),
            database_url=database_url,
            redis_url=BENCH_REDIS_URL,
            trusted_proxies="127.0.0.1",
        )
        made = django_call(env, "--setup-accounts", str(ACCOUNTS))
        QUIET.wait()
        ceiling = w0_every_core(env, options.seconds / 2)
        first: dict[str, Phase] = {}
        for layout, count, workers in LAYOUTS:
            with contextlib.ExitStack() as stack:
                nodes = Nodes([stack.enter_context(gunicorn(env, workers)) for _ in range(count)])
                w1_sign_ins(nodes, 3, threads)  # warm-up, not kept
                for phase in (
                    w1_sign_ins(nodes, options.seconds, threads),
                    w3_portal(nodes, options.seconds / 2, threads),
                ):
                    rows.append(row(layout, phase, first.get(phase.name)))
                    first.setdefault(phase.name, phase)
                    print(f"{layout}: {phase.name} {phase.rate('ok'):.1f}/s", file=sys.stderr)
                errors += nodes.last_error()
    if errors:
        print(f"The portal logged errors; the last of each node:\n{errors}", file=sys.stderr)
    header = ["layout", "workload", "per second", "p50 ms", "p99 ms", "vs one node, 1 worker"]
    header += ["server cores", "database cores", "client cores", "answers"]
    text = (
        f"PostgreSQL + Redis, {made['accounts']} accounts, {threads} client threads;"
        f" W0 on every core at once: {ceiling:.1f} verifications/s.\n\n"
        f"{table(header, rows)}\n\n"
        f"Other work on the machine: {QUIET.describe()}.\n"
    )
    publish(text, options.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
