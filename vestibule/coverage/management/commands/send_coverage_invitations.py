from django.core.management.base import BaseCommand, CommandError

from vestibule.config import get_profile
from vestibule.coverage.services import coverage_invitations_send


class Command(BaseCommand):
    help = (
        "E-mail an access code to the first invited address of every coverage record "
        "neither linked nor invited yet."
    )

    def handle(self, *args, **options) -> None:
        profile = get_profile()
        if not profile.regions:
            raise CommandError(f"profile {profile.name!r} lists no regions: coverage is off")
        queued = coverage_invitations_send()
        self.stdout.write(f"invitations queued {queued} (vestibule worker sends them)")
