from argparse import ArgumentParser
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "The former name of `vestibule worker`, kept for existing service files (--once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once, then exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between two looks at the jobs"
        )

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        # By name: the outbox's app does not import the web app that runs every app's jobs.
        call_command("worker", once=once, interval=interval, stdout=self.stdout, stderr=self.stderr)
