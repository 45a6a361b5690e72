from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from vestibule.audit.services import event_record
from vestibule.config import get_profile
from vestibule.registry.services import member_import


class Command(BaseCommand):
    help = (
        "Import or update the member registry from a CSV file (upsert by code). A member "
        "set inactive can no longer sign in; active again, it can."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="CSV with a header row; see the README")
        parser.add_argument(
            "--full",
            action="store_true",
            help="the file is the whole roster: members absent from it become inactive",
        )

    def handle(self, *args, file: Path, full: bool, **options) -> None:
        try:
            # Binary: each line is decoded on its own, so a line not in UTF-8 is one rejected line.
            handle = file.open("rb")
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        if connection.vendor == "sqlite":
            # 64 MiB of page cache for this connection (SQLite's default is 2 MiB): a million
            # members' indexes are written at random places, and each miss costs a read.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -65536")
        with handle:
            report = member_import(rows=handle, profile=get_profile(), full=full)
        event_record(
            "registry.imported",
            subject=str(file),
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            rejected=len(report.rejected),
            full=full,
            absent=report.absent,
        )
        for line in report.lines():
            self.stdout.write(line)
