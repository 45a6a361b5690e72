import os
import shutil
import sys
from argparse import ArgumentParser
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

CORES = os.cpu_count() or 1


def gunicorn_arguments(
    *, bind: str, workers: int | None, threads: int | None, shared_cache: bool
) -> list[str]:
    """gunicorn's arguments; without a shared cache, one process with threads.

    Lockout and address-block counters live in the cache. Local memory is per process, so
    several processes would each count on their own and a threshold of 5 would take up to
    5 × processes attempts. Threads of one process share it, and the password hash (argon2)
    releases the GIL, so one process still uses every core for sign-ins.
    """
    if workers is None:
        workers = CORES * 2 + 1 if shared_cache else 1
    if workers > 1 and not shared_cache:
        raise CommandError(
            "--workers above 1 needs REDIS_URL: without a shared cache each process would "
            "keep its own lockout and address-block counters"
        )
    if threads is None:
        threads = 1 if shared_cache else CORES * 2 + 1
    arguments = ["vestibule.wsgi", "--bind", bind, "--workers", str(workers)]
    if threads > 1:
        arguments += ["--worker-class", "gthread", "--threads", str(threads)]
    # The access log names every path, and e-mailed links carry keys in theirs: redacted.
    logger = ["--logger-class", "vestibule.web.log_redaction.RedactingLogger"]
    return [*arguments, *logger, "--access-logfile", "-"]


class Command(BaseCommand):
    help = "Serve the portal with gunicorn (production)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        port = os.environ.get("PORT", "8000")
        parser.add_argument("--bind", default=f"127.0.0.1:{port}")
        parser.add_argument(
            "--workers",
            type=int,
            help="processes (default: 2 × cores + 1 with REDIS_URL, else 1)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            help="threads per process (default: 1 with REDIS_URL, else 2 × cores + 1)",
        )

    def handle(self, *args, bind: str, workers: int | None, threads: int | None, **options) -> None:
        arguments = gunicorn_arguments(
            bind=bind, workers=workers, threads=threads, shared_cache=bool(settings.REDIS_URL)
        )
        # The gunicorn installed beside this Python (the virtual environment), else on PATH.
        beside = Path(sys.executable).with_name("gunicorn")
        gunicorn = str(beside) if beside.exists() else shutil.which("gunicorn")
        if gunicorn is None:
            raise CommandError("gunicorn is not installed in this environment")
        os.execv(gunicorn, [gunicorn, *arguments])  # noqa: S606 (fixed argv)
