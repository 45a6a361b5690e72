"""`vestibule create-establishment`: a new establishment and its first administrator's
invitation (every right), as the admin console's "add establishment" does.

Accepting the invitation is the ordinary path: choose a password, then sign in with the
e-mail (seed 001's hotels have no other way to get their first user).
"""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, no_translations

from vestibule.config import get_profile
from vestibule.establishments.onboarding import EstablishmentRefused, establishment_open


def _refused(message: str) -> CommandError:
    # One line and exit code 2, like a wrong profile at start-up; nothing was created.
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Create an establishment and e-mail its first administrator an invitation with every right."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--name", required=True, help="the establishment's name")
        parser.add_argument("--admin-email", required=True, help="its first administrator")
        parser.add_argument("--admin-name", default="", help="the administrator's name")
        parser.add_argument("--region", default="", help="one of the profile's regions")
        parser.add_argument("--json", action="store_true", dest="as_json")

    # In English, like every command's output.
    @no_translations
    def handle(
        self,
        *args: Any,
        name: str,
        admin_email: str,
        admin_name: str,
        region: str,
        as_json: bool,
        **options: Any,
    ) -> None:
        profile = get_profile()
        if not profile.access_rights:
            raise _refused(f"profile {profile.name!r} has no establishments (no access rights)")
        # Where the profile lists regions (coverage), an establishment is in one of them.
        regions = [r.key for r in profile.regions]
        if regions and region.strip() and region.strip() not in regions:
            known = ", ".join(regions)
            raise _refused(f"--region: {region!r} is not one of the profile's regions ({known})")
        try:
            invitation = establishment_open(
                name=name, admin_email=admin_email, admin_name=admin_name, region=region, actor=None
            )
        except EstablishmentRefused as refused:
            raise _refused(refused.message) from None
        establishment = invitation.establishment
        answer = {
            "establishment": {
                "name": establishment.name,
                "id": establishment.public_id,
                "region": establishment.region,
            },
            "invitation": {
                "email": invitation.email,
                "rights": invitation.rights,
                "owner": invitation.as_owner,
                "expires_at": invitation.expires_at.isoformat(),
            },
        }
        if as_json:
            self.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"created {establishment.name} ({establishment.public_id})")
        self.stdout.write(
            f"invitation sent to {invitation.email}, valid until "
            f"{invitation.expires_at:%Y-%m-%d %H:%M %Z}: accepting it, they choose their "
            "password and manage the establishment's users"
        )
