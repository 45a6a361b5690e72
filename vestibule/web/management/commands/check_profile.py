from argparse import ArgumentParser

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from vestibule.config import ProfileError, load_profile
from vestibule.flows.engine import stage_names_check


class Command(BaseCommand):
    help = "Validate a profile: a built-in name or a TOML path (default: VESTIBULE_PROFILE)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("profile", nargs="?", default=None)

    def handle(self, *args, profile: str | None, **options) -> None:
        try:
            loaded = load_profile(profile or settings.VESTIBULE_PROFILE)
        except ProfileError as error:
            raise CommandError(str(error)) from None
        unknown = stage_names_check(loaded.flows)
        if unknown:
            raise CommandError(f"{loaded.source}: {unknown[0]}")
        self.stdout.write(f"{loaded.source}: valid ({loaded.organisation.name})")
