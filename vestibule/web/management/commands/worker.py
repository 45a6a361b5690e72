"""`vestibule worker`: every app's scheduled jobs (vestibule.scheduling), each at its interval.

One process for all the background work: the outbox, the sections' logouts, the purges and
the retention of the profile. It survives a database restart: a round that meets an
unreachable database drops its connections and the jobs run again at the next round.
"""

import logging
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connections

from vestibule.scheduling import Job, jobs

log = logging.getLogger(__name__)
DATABASE_RETRY = 5.0  # seconds before jobs the database's absence stopped are tried again


def count_of(result: Any) -> int:
    """How many things a job did: its int, the sum of a tuple of counts (sent, failed), or
    0 for None."""
    if result is None:
        return 0
    if isinstance(result, tuple):
        return sum(result)
    return int(result)


class Command(BaseCommand):
    help = (
        "Run the scheduled work of every app (outbox, back-channel logouts, purges, "
        "retention, coverage invitations), each job at its own interval, until stopped; "
        "--once runs every job once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between two looks at the jobs"
        )

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        scheduled = jobs()
        next_run = {job.name: 0.0 for job in scheduled}
        while True:
            started = time.monotonic()
            due = [job for job in scheduled if next_run[job.name] <= started]
            broken, unreachable = self.round(due, once=once)
            for job in due:
                # Met an unreachable database: tried again soon, not after its interval.
                wait = DATABASE_RETRY if job.name in unreachable else job.every
                next_run[job.name] = started + wait
            if once:
                if broken:
                    raise CommandError(f"job(s) failed: {', '.join(broken)}")
                return
            # As after a request: a connection past its age, or broken, is dropped.
            close_old_connections()
            time.sleep(interval)

    def round(self, due: list[Job], *, once: bool) -> tuple[list[str], list[str]]:
        """Run the `due` jobs, with one log line when any did something. Returns the names
        of the jobs that failed, and of those the database's absence kept from running."""
        done: dict[str, int] = {}
        broken: list[str] = []
        unreachable: list[str] = []
        for position, job in enumerate(due):
            try:
                done[job.name] = count_of(job.callable()())
            except DatabaseError as error:
                # The database restarted or is unreachable: the next jobs would fail alike.
                self.stderr.write(f"database unavailable: {error}")
                connections.close_all()
                if once:
                    raise
                unreachable = [j.name for j in due[position:]]
                break
            except Exception:
                # One job's bug must not stop the outbox: the others run; it runs again at
                # its interval.
                log.exception("job %s failed", job.name)
                self.stderr.write(f"job {job.name} failed (see the log)")
                broken.append(job.name)
        did = [f"{name} {count}" for name, count in done.items() if count]
        if did:
            self.stdout.write(", ".join(did))
            self.stdout.flush()  # a line per round as it happens, also into a file or journal
        return broken, unreachable
