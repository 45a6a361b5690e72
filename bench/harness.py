"""What the benchmarks share: environments, databases, gunicorn, an HTTP client, statistics.

Everything here is bounded: subprocesses have time limits, the server is killed by its
process group when a benchmark ends, requests have a socket timeout.
"""

import contextlib
import dataclasses
import http.client
import http.cookies
import importlib.metadata
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The directory whose `vestibule` package is benchmarked: the repository, or the copy of it
# that bench/run.py takes at the start so that a whole run measures one version of the code.
CODE = Path(os.environ.get("VESTIBULE_BENCH_CODE") or REPO)
BIN = Path(sys.executable).parent
PYTHON = sys.executable
BENCH_DATABASE = "vestibule_bench"
# Never the `test` or `test_test` databases: other people's test runs use them.
FORBIDDEN_DATABASES = {"test", "test_test"}
BENCH_REDIS_URL = "redis://127.0.0.1:6379/3"
DEFAULT_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"


def portal_env(
    var_dir: Path,
    *,
    profile: str = "default",
    database_url: str = "",
    redis_url: str = "",
    trusted_proxies: str = "",
) -> dict[str, str]:
    """A clean environment for the portal: none of the caller's Vestibule settings leak in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
        and not key.startswith("VESTIBULE_")
    }
    env.update(
        VESTIBULE_ENV="development",
        VESTIBULE_VAR_DIR=str(var_dir),
        VESTIBULE_PROFILE=profile,
        DJANGO_SETTINGS_MODULE="vestibule.settings",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(CODE),
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    if trusted_proxies:
        env["VESTIBULE_TRUSTED_PROXIES"] = trusted_proxies
    return env


def bench_database_url(database_url: str) -> str:
    """The same PostgreSQL server as `database_url`, but the benchmark's own database."""
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{BENCH_DATABASE}"))


def database_name(database_url: str) -> str:
    return urllib.parse.urlsplit(database_url).path.lstrip("/")


def postgres_recreate(database_url: str) -> None:
    """Drop and create the benchmark's own database, so every run starts empty."""
    name = database_name(database_url)
    if name in FORBIDDEN_DATABASES or not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"bench: refusing to use database {name!r}; use {BENCH_DATABASE}")
    parts = urllib.parse.urlsplit(database_url)
    admin = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    admin += ["-U", parts.username or "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1"]
    for sql in (f"drop database if exists {name} with (force)", f"create database {name}"):
        result = subprocess.run(
            ["psql", *admin, "-qc", sql], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {result.stderr.strip()}")


def redis_flush(redis_url: str) -> None:
    """Empty the benchmark's Redis database (counters and blocks of an earlier run)."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    client.flushdb()
    client.close()


def _checked_run(
    command: list[str], label: str, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """`command` in the code's folder; raises with its output (named `label`) when it fails."""
    result = subprocess.run(
        command, env=env, cwd=CODE, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{label} failed:\n{result.stdout}{result.stderr}")
    return result


def script_json(script: str, env: dict[str, str], *args: str, timeout: float = 300) -> dict:
    """Run a benchmark script's own entry point (`script ARGS`, Django set up by it) with the
    portal's environment; the JSON object its last line prints."""
    path = Path(script).resolve()
    label = f"{path.name} {' '.join(args)}"
    result = _checked_run([PYTHON, str(path), *args], label, env, timeout)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_portal_command(
    args: list[str], env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`vestibule ARGS` as a subprocess; raises with its output when it fails."""
    command = [str(BIN / "vestibule"), *args]
    return _checked_run(command, f"vestibule {' '.join(args)}", env, timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Processes counted as the database's: PostgreSQL's server processes and Redis.
DATABASE_COMMANDS = {"postgres", "redis-server"}


@dataclasses.dataclass
class CpuSnapshot:
    """CPU seconds used so far by the server's processes, by each database process, by the
    whole machine (busy), and the machine's iowait; from /proc (Linux)."""

    server: float
    database: dict[int, float]
    machine: float
    iowait: float

    @classmethod
    def take(cls, server_pids: set[int]) -> "CpuSnapshot":
        tick = os.sysconf("SC_CLK_TCK")
        server = 0.0
        database = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                text = stat.read_text()
                command = text[text.index("(") + 1 : text.rindex(")")]
                fields = text.rsplit(")", 1)[1].split()
                seconds = (int(fields[11]) + int(fields[12])) / tick
                pid = int(stat.parent.name)
                if pid in server_pids:
                    server += seconds
                elif command in DATABASE_COMMANDS:
                    database[pid] = seconds
        busy, iowait = machine_ticks()
        return cls(server, database, busy / tick, iowait / tick)

    def cores_since(self, before: "CpuSnapshot", seconds: float) -> dict[str, float]:
        """Cores busy on average between `before` and this snapshot."""
        # A database process that ended in between is lost; one that started counts whole.
        database = sum(t - before.database.get(pid, 0.0) for pid, t in self.database.items())
        return {
            "server": (self.server - before.server) / seconds,
            "database": max(0.0, database) / seconds,
            "machine": (self.machine - before.machine) / seconds,
            "iowait": (self.iowait - before.iowait) / seconds,
        }


def machine_ticks() -> tuple[int, int]:
    """(busy, iowait) clock ticks of the whole machine so far, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, iowait


class QuietMachine:
    """Waits, before each measurement, until other work on the machine has calmed down.

    The benchmark shares its cores with whatever else runs there (other people's test
    suites): a measurement taken while they run says little. Waiting is bounded: at most
    `patience` seconds each time and `budget` seconds in all; then it measures anyway and
    counts a busy start.
    """

    def __init__(self, threshold: float = 0.3, patience: float = 60, budget: float = 600) -> None:
        self.threshold = threshold  # cores busy over a 2-second sample
        self.patience = patience
        self.budget = budget
        self.waited = 0.0
        self.busy_starts = 0
        self.starts = 0

    def busy_cores(self, seconds: float = 2.0) -> float:
        before = machine_ticks()[0]
        time.sleep(seconds)
        return (machine_ticks()[0] - before) / os.sysconf("SC_CLK_TCK") / seconds

    def wait(self) -> None:
        self.starts += 1
        started = time.monotonic()
        limit = min(self.patience, max(0.0, self.budget - self.waited))
        while self.busy_cores() > self.threshold:
            if time.monotonic() - started > limit:
                self.busy_starts += 1
                break
        self.waited += time.monotonic() - started

    def describe(self) -> str:
        return (
            f"waited {self.waited:.0f} s in all for the machine to be quiet (under"
            f" {self.threshold} core busy) before {self.starts} measurements;"
            f" {self.busy_starts} started on a busy machine all the same"
        )


@dataclasses.dataclass
class Server:
    """A running gunicorn: its address, its process group, its log."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def last_error(self) -> str:
        """The last traceback the server logged, or ""."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        start = text.rfind("Traceback (most recent call last)")
        return text[start:][:4000] if start >= 0 else ""

    def pids(self) -> list[int]:
        """The master and its workers (children found through /proc)."""
        found = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    found.append(int(stat.parent.name))
        return found


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], workers: int = 2, threads: int = 1, timeout: float = 60
) -> Iterator[Server]:
    """Serve the portal on 127.0.0.1; always killed (its whole process group) on exit."""
    port = free_port()
    log = Path(env["VESTIBULE_VAR_DIR"]) / f"gunicorn-{port}.log"
    command = [str(BIN / "gunicorn"), "vestibule.wsgi", "-w", str(workers)]
    if threads > 1:  # what `vestibule serve` runs without REDIS_URL
        command += ["-k", "gthread", "--threads", str(threads)]
    command += ["-b", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5"]
    if int(importlib.metadata.version("gunicorn").split(".")[0]) >= 27:
        # gunicorn 27 opens a control socket at one path per user (~/.gunicorn): not ours.
        command.append("--no-control-socket")
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=CODE, stdout=output, stderr=output, start_new_session=True
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                # Every worker imports Django lazily: wait until each has answered once.
                statuses = [Client(port).get("/login/").status for _ in range(workers * 3)]
                if all(status == 200 for status in statuses):
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in {timeout}s:\n{log.read_text()}")
            time.sleep(0.2)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@dataclasses.dataclass
class Response:
    status: int
    location: str
    body: str
    seconds: float


CSRF_COOKIE = "vestibule_csrftoken"
SESSION_COOKIE = "vestibule_session"
_HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
_OUTCOME = re.compile(r'data-outcome="(\w+)"')


class Client:
    """One browser: a cookie jar and a connection per request to the portal (stdlib only).

    Every request says `Connection: close`, as gunicorn's sync workers do anyway: a threaded
    worker would otherwise close idle keep-alive connections under the client's feet.
    http.client opens a new connection for the next request by itself.
    """

    def __init__(self, port: int, forwarded_for: str = "", timeout: float = 30) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies: dict[str, str] = {}
        self.forwarded_for = forwarded_for

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        forwarded_for: str = "",
    ) -> Response:
        headers = {"Host": "127.0.0.1", "User-Agent": "vestibule-bench", "Connection": "close"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if forwarded_for or self.forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for or self.forwarded_for
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            answer = self.connection.getresponse()
            content = answer.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        seconds = time.perf_counter() - started
        for header in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in http.cookies.SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(
            answer.status,
            answer.headers.get("Location", ""),
            content.decode("utf-8", "replace"),
            seconds,
        )

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str], forwarded_for: str = "") -> Response:
        return self.request("POST", path, form, forwarded_for)

    def close(self) -> None:
        self.connection.close()


def hidden_inputs(html: str, action: str) -> dict[str, str]:
    """The hidden inputs (csrfmiddlewaretoken, flow_id…) of the page's form posting to `action`."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    if form is None:
        raise ValueError(f"no form posting to {action} on the page")
    return dict(_HIDDEN.findall(form.group(1)))


def outcome(response: Response) -> str:
    """What a sign-in answer says: ok, invalid, locked, blocked, pending, or http-NNN."""
    if response.status == 302:
        return "ok" if response.location.endswith("/portal/") else f"302:{response.location}"
    found = _OUTCOME.search(response.body)
    # 429: a blocked address's sign-in, answered before the session and the view.
    if response.status in (200, 429) and found:
        return found.group(1)
    return f"http-{response.status}"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered)))) - 1]


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def publish(section: str, output: Path | None) -> None:
    """Print a benchmark's markdown section, and write it to `output` (--output) too."""
    print(section)
    if output:
        output.write_text(section, encoding="utf-8")
