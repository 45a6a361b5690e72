import os
import shutil
from argparse import ArgumentParser

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Serve the portal with gunicorn (production)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        port = os.environ.get("PORT", "8000")
        parser.add_argument("--bind", default=f"127.0.0.1:{port}")
        parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)

    def handle(self, *args, bind: str, workers: int, **options) -> None:
        gunicorn = shutil.which("gunicorn")
        if gunicorn is None:
            raise CommandError("gunicorn is not installed in this environment")
        arguments = [gunicorn, "vestibule.wsgi", "--bind", bind, "--workers", str(workers)]
        os.execv(gunicorn, [*arguments, "--access-logfile", "-"])  # noqa: S606 (fixed argv)
