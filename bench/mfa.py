"""Sign-in with a second factor (issue 16): password then an authenticator app's code,
against plain password sign-ins, on the same server in the same run.

    .venv/bin/python bench/mfa.py [--quick] [--workers N] [--threads N] [--output FILE]

gunicorn on 127.0.0.1 as `vestibule serve` runs it without Redis (one process, 5 threads;
SQLite and the local-memory cache, the embedded default); profile `default`. 1,000 accounts
without a factor (bench/login.py's) sign in with their password alone; 1,000 others have an
authenticator app, enrolled in the setup through the service the enrolment page calls
(`totp_confirm`: the secret sealed at rest, its confirming code spent). Plain and TOTP rounds
alternate, so a slower stretch of the machine weighs on both.

A plain sign-in is bench/login.py's W1: one POST /login/ answered 302 /portal/. A TOTP
sign-in is what a browser without a session does: POST /login/ (302 to /flow/sign_in/),
GET /flow/sign_in/ (the code page), POST /flow/sign_in/ with the code pyotp computes from
the account's secret (302 /portal/). A code is accepted once, so the load generator never
sends an account's code twice in one 30-second step: it moves on to the next account.
About 2 minutes (1.5 with --quick).
"""

import argparse
import collections
import itertools
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import login
import pyotp
from harness import (
    CSRF_COOKIE,
    Server,
    gunicorn,
    hidden_inputs,
    outcome,
    percentile,
    portal_env,
    publish,
    script_json,
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
    email,
    setup_accounts,
)

FACTOR_ACCOUNTS = 1000
IN_PROCESS = 30  # sign-ins of each kind measured request by request, in one process
ROUNDS = 3
TOTP_PERIOD = 30  # seconds, as vestibule.mfa.services
FLOW = "/flow/sign_in/"


def factor_email(index: int) -> str:
    return f"factor{index}@bench.example"


def setup(count: int, with_factor: int) -> None:
    """Migrate, create login.py's accounts, then `with_factor` accounts with an authenticator
    app each, enrolled with the service the enrolment page calls; prints their secrets."""
    setup_accounts(count)  # django.setup() and migrate too
    from datetime import timedelta

    from django.conf import settings
    from django.test import RequestFactory
    from django.utils import timezone

    from vestibule.accounts.models import Account
    from vestibule.mfa.models import Factor
    from vestibule.mfa.services import totp_confirm, totp_new

    model = Account.objects.filter(email=email(0)).first()
    now = timezone.now()
    Account.objects.bulk_create(
        [
            Account(
                email=factor_email(i),
                kind="member",
                status=Account.Status.ACTIVE,
                activated_at=now,
                password=model.password,
            )
            for i in range(with_factor)
        ],
        batch_size=500,
    )
    # Confirmed ten minutes ago, as tests/flows/mfa_helpers.app_enrol does: the confirming
    # code's step is spent, and every code of the run is a later one.
    earlier = now - timedelta(minutes=10)
    # The notice of each enrolment is sent on commit: kept in memory, not printed on the
    # console (development's backend) where this process's JSON answer goes.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    request = RequestFactory().get("/")
    secrets = {}
    started = time.perf_counter()
    for account in Account.objects.filter(email__startswith="factor").order_by("pk"):
        secret = totp_new()
        totp_confirm(
            account=account,
            secret=secret,
            code=pyotp.TOTP(secret).at(earlier),
            name="Phone",
            request=request,
            now=earlier,
        )
        secrets[account.email] = secret
    enrolled = time.perf_counter() - started
    sealed = Factor.objects.first().totp_secret_sealed
    print(
        json.dumps(
            {
                "secrets": secrets,
                "factors": Factor.objects.filter(kind=Factor.Kind.TOTP).count(),
                "enrol_ms": enrolled / max(1, len(secrets)) * 1000,
                "sealed_prefix": sealed[:4],
            }
        )
    )


def in_process(count: int, secrets: dict[str, str]) -> None:
    """Each request of `count` plain and `count` TOTP sign-ins, one at a time in this process
    with Django's test client (no HTTP, no other thread): median ms and queries; prints JSON."""
    import django

    django.setup()
    import statistics

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    measured: dict[str, dict[str, list[float]]] = collections.defaultdict(
        lambda: collections.defaultdict(list)
    )

    def timed(name: str, request, *args):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = request(*args)
            measured[name]["ms"].append((time.perf_counter() - started) * 1000)
        measured[name]["queries"].append(len(queries))
        return response

    apps = sorted(secrets.items())
    for n in range(count + 3):  # the first three warm the process up, not counted
        browser = Client(HTTP_HOST="127.0.0.1")
        form = {"identifier": email(FIRST_FREE + n), "password": PASSWORD}
        answer = timed("plain: POST /login/", browser.post, "/login/", form)
        assert answer.status_code == 302 and answer["Location"].endswith("/portal/"), answer
        browser = Client(HTTP_HOST="127.0.0.1")
        address, secret = apps[n]
        form = {"identifier": address, "password": PASSWORD}
        answer = timed("TOTP: POST /login/", browser.post, "/login/", form)
        assert answer["Location"].endswith(FLOW), answer
        page = timed("TOTP: GET /flow/sign_in/", browser.get, FLOW)
        fields = hidden_inputs(page.content.decode(), FLOW)
        fields["code"] = pyotp.TOTP(secret).now()
        answer = timed("TOTP: POST /flow/sign_in/", browser.post, FLOW, fields)
        assert answer.status_code == 302 and answer["Location"].endswith("/portal/"), answer
    print(
        json.dumps(
            {
                name: {
                    "ms": statistics.median(values["ms"][3:]),
                    "queries": statistics.median(values["queries"][3:]),
                }
                for name, values in measured.items()
            }
        )
    )


def setup_call(env: dict[str, str]) -> dict:
    return script_json(__file__, env, "--setup", str(ACCOUNTS), timeout=600)


class CodePool:
    """The accounts with an app, in turn; never one whose code was sent in this 30-s step."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.apps = {address: pyotp.TOTP(secret) for address, secret in secrets.items()}
        self.turn = itertools.cycle(sorted(self.apps))
        self.last_step: dict[str, int] = {}
        self.lock = threading.Lock()

    def take(self) -> tuple[str, str]:
        """(identifier, its app's current code), each step of an account used once."""
        while True:
            with self.lock:
                now = int(time.time())
                step = now // TOTP_PERIOD  # pyotp's time step, as the server computes it
                for _ in range(len(self.apps)):
                    address = next(self.turn)
                    if self.last_step.get(address, -1) < step:
                        self.last_step[address] = step
                        return address, self.apps[address].at(now)
            time.sleep(0.1)  # every account has signed in during this step


class Steps:
    """Each request's latency, by step of the TOTP sign-in (threads add to it)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = collections.defaultdict(list)

    def add(self, step: str, seconds: float) -> None:
        with self.lock:
            self.times[step].append(seconds)


class TotpSignIn:
    """A browser without a session: the password, then the code page, then the code."""

    def __init__(self, port: int, pool: CodePool, steps: Steps) -> None:
        self.form = SignIn(port)
        self.pool = pool
        self.steps = steps

    def attempt(self, _n: int) -> tuple[str, float]:
        identifier, code = self.pool.take()
        started = time.perf_counter()
        browser = self.form.client
        browser.cookies = {CSRF_COOKIE: self.form.csrf_cookie}  # no session yet
        password = browser.post(
            "/login/",
            {
                "csrfmiddlewaretoken": self.form.token,
                "identifier": identifier,
                "password": PASSWORD,
            },
        )
        if password.status != 302 or not password.location.endswith(FLOW):
            return f"password-{outcome(password)}", 0.0
        page = browser.get(FLOW)
        if page.status != 200:
            return f"page-http-{page.status}", 0.0
        fields = hidden_inputs(page.body, FLOW)
        answer = browser.post(FLOW, {**fields, "code": code})
        result = outcome(answer)
        if result == "ok":
            for step, response in (("password", password), ("page", page), ("code", answer)):
                self.steps.add(step, response.seconds)
        return result, time.perf_counter() - started


def in_process_call(env: dict[str, str], secrets: dict[str, str]) -> dict:
    env = {**env, "BENCH_SECRETS": json.dumps(secrets)}
    return script_json(__file__, env, "--in-process", str(IN_PROCESS))


def alternate(server: Server, secrets: dict[str, str], seconds: float, threads: int):
    """Plain and TOTP rounds in turn; the TOTP requests' latencies by step."""
    accounts = list(range(FIRST_FREE, ACCOUNTS))
    pool = CodePool(secrets)
    steps = Steps()

    def plain_for(form: SignIn) -> Attempt:
        return lambda n: form.attempt(email(accounts[n % len(accounts)]), PASSWORD)

    workloads = [
        ("plain sign-ins", [plain_for(SignIn(server.port)) for _ in range(threads)]),
        (
            "sign-ins with an app's code",
            [TotpSignIn(server.port, pool, steps).attempt for _ in range(threads)],
        ),
    ]
    found: dict[str, list[Phase]] = {name: [] for name, _ in workloads}
    for _ in range(ROUNDS):
        for name, attempts in workloads:
            found[name].append(
                closed_loop(server, name, attempts, seconds / ROUNDS, 100_000, rounds=1)
            )
    phases = [
        Phase(name, [r for p in runs for r in p.rounds], sum(p.redone for p in runs))
        for name, runs in found.items()
    ]
    return phases, steps


def report(phases: list[Phase], steps: Steps, served_by: str, made: dict, requests: dict) -> str:
    plain, factor = phases
    plain_rate, factor_rate = plain.rate("ok"), factor.rate("ok")
    cost = plain_rate / factor_rate - 1 if factor_rate else float("inf")

    def cpu_ms(phase: Phase) -> str:
        rate = phase.rate("ok")
        return f"{phase.cores('server') / rate * 1000:.1f}" if rate else "—"

    rows = [
        [
            "plain",
            f"sign-ins/s (POST /login/ → 302 /portal/), {served_by}, SQLite",
            f"{plain_rate:.1f}/s{plain.spread('ok')}",
            plain.ms(0.5, "ok"),
            plain.ms(0.99, "ok"),
            cpu_ms(plain),
            "—",
        ],
        [
            "TOTP",
            "sign-ins/s: POST /login/ → GET /flow/sign_in/ → POST the code → 302 /portal/",
            f"{factor_rate:.1f}/s{factor.spread('ok')}",
            factor.ms(0.5, "ok"),
            factor.ms(0.99, "ok"),
            cpu_ms(factor),
            f"{cost:+.0%} (plain ÷ TOTP − 1)",
        ],
    ]
    by_step = [
        [
            request,
            f"{percentile(steps.times[key], 0.5) * 1000:.1f}",
            f"{percentile(steps.times[key], 0.99) * 1000:.1f}",
        ]
        for key, request in (
            ("password", "POST /login/ (password; 302 to the code page)"),
            ("page", "GET /flow/sign_in/ (the code page)"),
            ("code", "POST /flow/sign_in/ (the code; signed in)"),
        )
    ]
    groups = ("server", "client", "others")
    detail = [
        [
            p.name,
            f"{len(p.rounds)}",
            f"{p.seconds:.0f}",
            p.summary(),
            *(f"{p.cores(group):.2f}" for group in groups),
        ]
        for p in phases
    ]
    return "\n".join(
        [
            table(
                ["workload", "measure", "result", "p50 ms", "p99 ms", "server CPU ms", "cost"],
                rows,
            ),
            "",
            f"Rates are the median of {ROUNDS} rounds each, the two workloads in turn"
            " (lowest–highest round in brackets); a TOTP latency is the whole sign-in, its"
            " three requests. Server CPU ms: gunicorn's CPU seconds per successful sign-in"
            " (cores busy ÷ rate).",
            "",
            "The TOTP sign-in's requests under the same load (successful sign-ins only):",
            "",
            table(["request", "p50 ms", "p99 ms"], by_step),
            "",
            table(["phase", "rounds", "seconds", "answers", *groups], detail),
            "",
            f"The same requests one at a time in one process, with Django's test client (no"
            f" HTTP, no other thread; median of {IN_PROCESS} sign-ins each, SQLite):",
            "",
            table(
                ["request", "ms", "queries"],
                [
                    [name, f"{value['ms']:.1f}", f"{value['queries']:g}"]
                    for name, value in requests.items()
                ],
            ),
            "",
            f"- setup: {made['factors']} authenticator apps enrolled through `totp_confirm`,"
            f" {made['enrol_ms']:.1f} ms each (one process, SQLite)",
            f"- other work on the machine: {QUIET.describe()}",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn -w (1)")
    parser.add_argument("--threads", type=int, default=5, help="gunicorn --threads (5)")
    parser.add_argument("--output", type=Path, help="write the markdown section here too")
    parser.add_argument("--setup", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--in-process", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.setup is not None:
        setup(options.setup, FACTOR_ACCOUNTS)
        return 0
    if options.in_process is not None:
        in_process(options.in_process, json.loads(os.environ["BENCH_SECRETS"]))
        return 0

    seconds = 9.0 if options.quick else 30.0
    # Bounded as bench/oidc.py: a short wait for a quiet machine, and a round disturbed by
    # other work is kept ("others" in the table says how busy it was).
    login.QUIET.patience, login.QUIET.budget = 5, 30
    login.EXTRA_ROUNDS = 0
    threads = THREADS_PER_CORE * (os.cpu_count() or 1)
    served_by = f"{options.workers} × {options.threads} threads"
    if options.threads == 1:
        served_by = f"{options.workers} sync workers"
    with tempfile.TemporaryDirectory(prefix="vestibule-bench-mfa-") as temp:
        env = portal_env(Path(temp))
        made = setup_call(env)
        print(f"{made['factors']} apps enrolled, {made['enrol_ms']:.1f} ms each", file=sys.stderr)
        # The first accounts (each kind) for the one-process breakdown, the others for the load.
        ordered = sorted(made["secrets"].items(), key=lambda item: int(item[0][6:].split("@")[0]))
        QUIET.wait()
        requests = in_process_call(env, dict(ordered[: IN_PROCESS + 3]))
        with gunicorn(env, workers=options.workers, threads=options.threads) as server:
            phases, steps = alternate(server, dict(ordered[IN_PROCESS + 3 :]), seconds, threads)
            errors = server.last_error()
        print(" / ".join(f"{p.name}: {p.summary()}" for p in phases), file=sys.stderr)
        if errors:
            print(f"The portal logged an error:\n{errors}", file=sys.stderr)
        section = report(phases, steps, served_by, made, requests)
    publish(section, options.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
