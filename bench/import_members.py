"""Registry import: `vestibule import-members` of 1,000,000 rows, twice (created, then unchanged).

    .venv/bin/python bench/import_members.py [--rows N] [--postgres] [--output FILE]

SQLite always; PostgreSQL too with --postgres or when DATABASE_URL is set (its server, but
always the benchmark's own database `vestibule_bench`, dropped and created afresh).
"""

import argparse
import csv
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    BIN,
    CODE,
    DEFAULT_DATABASE_URL,
    QuietMachine,
    bench_database_url,
    portal_env,
    postgres_recreate,
    run_portal_command,
    table,
)

FIRST_NAMES = ["Amélie", "Benoît", "Chloé", "David", "Émilie", "François", "Gaëlle", "Hugo"]
LAST_NAMES = ["Tremblay", "Gagnon", "Roy", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie"]
REGIONS = ["Montréal", "Québec", "Estrie", "Outaouais", "Mauricie", "Saguenay"]
HEADER = ["database", "run", "rows", "created", "unchanged", "rejected", "seconds", "rows/s"]
HEADER += ["peak RSS (MiB)", "target (issue 18, 1,000,000 rows)", "verdict"]
TARGET_SECONDS, TARGET_MIB = 60, 500
QUIET = QuietMachine()
_SUMMARY = re.compile(r"created (\d+), updated (\d+), unchanged (\d+), rejected (\d+)")


def members_csv(path: Path, rows: int, seed: int = 2026) -> None:
    """`rows` members of kind `member`: unique 6-digit codes, unique e-mails, names."""
    chooser = random.Random(seed)
    codes = chooser.sample(range(1_000_000), rows)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["kind", "code", "email", "first_name", "last_name", "region", "active"])
        for code in codes:
            writer.writerow(
                [
                    "member",
                    f"{code:06d}",
                    f"member{code:06d}@bench.example",
                    chooser.choice(FIRST_NAMES),
                    chooser.choice(LAST_NAMES),
                    chooser.choice(REGIONS),
                    "yes",
                ]
            )


def timed_import(csv_path: Path, env: dict[str, str], timeout: float) -> tuple[float, int, str]:
    """Run the CLI once: (wall seconds, peak RSS in KiB, its output)."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(BIN / "vestibule"), "import-members", str(csv_path)],
            env=env,
            cwd=CODE,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise RuntimeError(f"import-members failed ({process.returncode}):\n{text[-3000:]}")
    return seconds, usage.ru_maxrss, text


def verdict(rows: int, seconds: float, peak_kib: int) -> str:
    if rows != 1_000_000:
        return "— (the target is for 1,000,000 rows)"
    met = seconds < TARGET_SECONDS and peak_kib / 1024 < TARGET_MIB
    return "**met**" if met else "**not met**"


def bench_database(label: str, csv_path: Path, rows: int, env: dict[str, str]) -> list[list[str]]:
    """Migrate, then import twice; one table row per import."""
    run_portal_command(["migrate", "--noinput"], env)
    results = []
    for run, expected in (("first (all created)", "created"), ("second (all unchanged)", "same")):
        QUIET.wait()
        seconds, peak_kib, text = timed_import(csv_path, env, timeout=1800)
        found = _SUMMARY.search(text)
        if found is None:
            raise RuntimeError(f"no summary in the import's output:\n{text[-2000:]}")
        created, updated, unchanged, rejected = map(int, found.groups())
        wanted = (rows, 0, 0, 0) if expected == "created" else (0, 0, rows, 0)
        if (created, updated, unchanged, rejected) != wanted:
            raise RuntimeError(f"{label} {run}: unexpected counts: {found.group(0)}")
        row = [label, run, f"{rows:,}", f"{created:,}", f"{unchanged:,}", str(rejected)]
        row += [f"{seconds:.1f}", f"{rows / seconds:,.0f}", f"{peak_kib / 1024:.0f}"]
        row += [f"< {TARGET_SECONDS} s and < {TARGET_MIB} MiB", verdict(rows, seconds, peak_kib)]
        print("| " + " | ".join(row) + " |", flush=True)
        results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    parser.add_argument("--output", type=Path, help="write the markdown table here too")
    options = parser.parse_args(argv)
    postgres_url = ""
    if options.postgres or os.environ.get("DATABASE_URL"):
        postgres_url = bench_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)

    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="vestibule-bench-import-") as temp:
        csv_path = Path(temp) / "members.csv"
        members_csv(csv_path, options.rows)
        print("| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER), flush=True)
        sqlite_dir = Path(temp) / "sqlite"
        rows += bench_database("SQLite", csv_path, options.rows, portal_env(sqlite_dir))
        if postgres_url:
            postgres_recreate(postgres_url)
            env = portal_env(Path(temp) / "postgres", database_url=postgres_url)
            rows += bench_database("PostgreSQL", csv_path, options.rows, env)
    if options.output:
        note = f"Other work on the machine: {QUIET.describe()}."
        options.output.write_text(f"{table(HEADER, rows)}\n\n{note}\n", encoding="utf-8")
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
