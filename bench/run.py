"""Run every benchmark and write bench/RESULTS.md (machine, date, commands, tables).

    .venv/bin/python bench/run.py [--postgres] [--quick]

Without --postgres: the registry import, the sign-in benchmark and the scale run on SQLite
with the local-memory cache. With --postgres: the import on PostgreSQL too, and the sign-in
benchmark and the scale run a second time on PostgreSQL + Redis (database vestibule_bench,
Redis db 3).
The hand-written "## Analysis" section of an existing RESULTS.md is kept.
"""

import argparse
import datetime
import hashlib
import importlib.metadata
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django
from harness import BENCH_REDIS_URL, DEFAULT_DATABASE_URL, PYTHON, REPO, bench_database_url

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "RESULTS.md"
ANALYSIS = "## Analysis"


def shown(path: str) -> str:
    """A path as typed from the repository's root."""
    relative = os.path.relpath(path, REPO)
    return path if relative.startswith("..") else relative


def command_line(args: list[str]) -> str:
    return shlex.join([shown(args[0]), *(shown(a) if a.startswith("/") else a for a in args[1:])])


def without_output(args: list[str]) -> list[str]:
    at = args.index("--output")
    return args[:at] + args[at + 2 :]


def read(command: list[str], timeout: float = 30) -> str:
    """One line of a tool's output, or "" when the tool is missing or fails."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def machine(postgres: bool) -> list[str]:
    """The machine and software, as markdown list items."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    lines = [
        f"- CPU: {read(['nproc']) or os.cpu_count()} cores (nproc), {model}",
        f"- memory: {memory_kib / 1024 / 1024:.1f} GiB",
        f"- system: {platform.platform()}",
        f"- Python {platform.python_version()}, Django {django.get_version()},"
        f" gunicorn {package_version('gunicorn')}, argon2-cffi {package_version('argon2-cffi')}",
        f"- load average before the run: {' / '.join(f'{v:.2f}' for v in os.getloadavg())}",
    ]
    if postgres:
        version = read(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"])
        lines.append(f"- PostgreSQL {version} and Redis on the same machine (127.0.0.1)")
    return lines


def code_snapshot(target: Path) -> str:
    """Copy vestibule/ as it is now into `target`; describe the version copied.

    Other people commit while a run lasts: every benchmark then imports this copy
    (VESTIBULE_BENCH_CODE), so the whole run measures one version of the code.
    """
    shutil.copytree(
        REPO / "vestibule", target / "vestibule", ignore=shutil.ignore_patterns("__pycache__")
    )
    digest = hashlib.sha256()
    for path in sorted((target / "vestibule").rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(target)).encode() + b"\0" + path.read_bytes())
    git = ["git", "-C", str(REPO)]
    commit = read([*git, "log", "-1", "--format=%h %s (%cd)", "--date=iso"])
    changed = read([*git, "status", "--porcelain", "--", "vestibule"])
    state = f"commit {commit}"
    if changed:
        state += f", with uncommitted changes in {len(changed.splitlines())} file(s) of vestibule/"
    return f"{state}; copy's sha256 {digest.hexdigest()[:12]}"


def run(args: list[str], timeout: float, code: Path) -> float:
    """Run one benchmark on the copied code, its progress on this terminal; its duration."""
    print(f"$ {command_line(args)}", flush=True)
    started = time.monotonic()
    env = {**os.environ, "VESTIBULE_BENCH_CODE": str(code)}
    subprocess.run(args, cwd=REPO, env=env, check=True, timeout=timeout)
    return time.monotonic() - started


def kept_analysis() -> str:
    if not RESULTS.exists():
        return ""
    text = RESULTS.read_text(encoding="utf-8")
    start = text.find(f"\n{ANALYSIS}\n")
    return text[start + 1 :].rstrip() + "\n" if start >= 0 else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL and Redis too")
    parser.add_argument("--quick", action="store_true", help="short phases")
    options = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.UTC)
    about = machine(options.postgres)
    quick = ["--quick"] if options.quick else []

    with tempfile.TemporaryDirectory(prefix="vestibule-bench-") as temp:
        out = Path(temp)
        code = out / "code"
        about.append(f"- code: vestibule/ at {code_snapshot(code)}, copied at the start")
        import_args = [PYTHON, str(BENCH / "import_members.py"), "--output", str(out / "import.md")]
        login = [PYTHON, str(BENCH / "login.py"), *quick]
        plan = [
            ("import", import_args + ["--postgres"] * options.postgres, 3600),
            ("login-sqlite", [*login, "--output", str(out / "login-sqlite.md")], 1800),
        ]
        if options.postgres:
            postgres = [*login, "--postgres", "--output", str(out / "login-postgres.md")]
            plan.append(("login-postgres", postgres, 1800))
        scale = [PYTHON, str(BENCH / "scale.py")]
        scale += ["--accounts", "20000", "--events", "200000", "--seconds", "6"] * options.quick
        plan.append(("scale-sqlite", [*scale, "--output", str(out / "scale-sqlite.md")], 3600))
        if options.postgres:
            scale_pg = [*scale, "--postgres", "--output", str(out / "scale-postgres.md")]
            plan.append(("scale-postgres", scale_pg, 3600))
        durations = {name: run(args, timeout, code) for name, args, timeout in plan}
        sections = {name: (out / f"{name}.md").read_text(encoding="utf-8") for name, *_ in plan}

    commands = [f"    {command_line([PYTHON, str(BENCH / 'run.py'), *(argv or sys.argv[1:])])}"]
    commands += [
        "",
        "which ran, from the repository's root, each with `--output TEMPFILE` and with"
        " `VESTIBULE_BENCH_CODE` naming the copy of `vestibule/`:",
        "",
    ]
    commands += [f"    {command_line(without_output(args))}" for _, args, _ in plan]
    database = bench_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    text = [
        "# Benchmark results",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC"
        f" ({', '.join(f'{name} {seconds / 60:.1f} min' for name, seconds in durations.items())})."
        " Written by `bench/run.py`; see `bench/README.md` for how to run it.",
        "",
        "## Machine",
        "",
        *about,
        "",
        "## Commands",
        "",
        *commands,
        "",
        "The load generator and the portal share the machine: every figure below is for a"
        " server that had the cores minus what the load generator (and the database) used.",
        "",
        "## Registry import (`vestibule import-members`, 1,000,000 members)",
        "",
        "One CSV of 1,000,000 `member` rows (unique 6-digit codes, unique e-mails, names);"
        " `vestibule migrate`, then the CLI twice as a subprocess: the first import creates"
        " every member, the second finds every one unchanged. Wall time includes the"
        " command's start-up (Django set-up, reading the CSV, checking every row)."
        + (f" PostgreSQL: `{database}`, created afresh." if options.postgres else ""),
        "",
        sections["import"].rstrip(),
        "",
        "## Sign-in (issue 4)",
        "",
        "gunicorn on 127.0.0.1 as `vestibule serve` runs it: without Redis one process of"
        " 5 threads (`-w 1 -k gthread --threads 5`: the counters live in that process's"
        " memory), with PostgreSQL + Redis 2 sync workers (`-w 2`, sessions in Redis);"
        " VESTIBULE_ENV=development,"
        " profile `default`, 1,000 active accounts; the load generator is `bench/login.py`"
        " (threads, `http.client`, two requests in flight per core). A sign-in is one"
        " POST /login/ answered 302 to /portal/, from a browser without a session. W2 locks"
        " user0 with wrong passwords, then sends it the right one; it blocks 10.9.0.1"
        " (VESTIBULE_TRUSTED_PROXIES=127.0.0.1, X-Forwarded-For) with wrong passwords for"
        " unknown identifiers, then sends a right password from it. W4 runs the `community`"
        " profile (open registration): start, form, POST, then the « check your e-mail »"
        " page, a new cookie jar each. Stuffing: wrong passwords at a steady rate, half on"
        " existing accounts and half on unknown ones, each address used about 5 times; the"
        " 4 real members sign in once a second each, from their own addresses, first alone"
        " (quiet) then under the stuffing."
        + (f" PostgreSQL + Redis: `{database}` (created afresh), `{BENCH_REDIS_URL}`.")
        * options.postgres,
        "",
        *[
            sections[name].rstrip() + "\n"
            for name in ("login-sqlite", "login-postgres")
            if name in sections
        ],
        "## Scale (issue 18, `bench/scale.py`)",
        "",
        "W1 of login.py on its 1,000 accounts, then, on the same server, after the database"
        " was filled to 1,000,000 accounts and 10,000,000 audit events (a year of them, a"
        " tenth naming an account), W1 again on the same 1,000 accounts. SQLite: one process"
        " of 5 threads; PostgreSQL + Redis: 2 sync workers, as above.",
        "",
        *[
            sections[name].rstrip() + "\n"
            for name in ("scale-sqlite", "scale-postgres")
            if name in sections
        ],
    ]
    analysis = kept_analysis()
    text += [analysis] if analysis else [ANALYSIS, "", "(not written yet)", ""]
    RESULTS.write_text("\n".join(text).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {shown(str(RESULTS))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
