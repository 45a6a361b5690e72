from argparse import ArgumentParser
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from vestibule.config import get_profile
from vestibule.coverage.services import coverage_import, coverage_invitations_send


class Command(BaseCommand):
    help = (
        "Import or update coverage records from a CSV file (columns: region, plan, first_name, "
        "last_name, emails, primary_email, allows_dependents); see docs/coverage.md. "
        "Records not invited yet get their access code from `vestibule worker` within the "
        "hour, or now with --send-invitations."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="CSV with a header row")
        parser.add_argument(
            "--send-invitations",
            action="store_true",
            help="then e-mail an access code to every record not invited yet",
        )

    def handle(self, *args, file: Path, send_invitations: bool, **options) -> None:
        profile = get_profile()
        if not profile.regions:
            raise CommandError(f"profile {profile.name!r} lists no regions: coverage is off")
        try:
            # Binary: each line is decoded on its own, so a line not in UTF-8 is one rejected line.
            handle = file.open("rb")
        except OSError as error:
            raise CommandError(f"{file}: {error.strerror}") from None
        with handle:
            report = coverage_import(rows=handle, profile=profile, source=str(file))
        for line in report.lines():
            self.stdout.write(line)
        if send_invitations:
            queued = coverage_invitations_send()
            self.stdout.write(f"invitations queued {queued} (vestibule worker sends them)")
