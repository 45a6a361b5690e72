from django.core.management.base import BaseCommand

from vestibule.accounts.services import account_purge_unactivated


class Command(BaseCommand):
    help = "Delete accounts left unactivated past the profile's delay (also run by send-mail)."

    def handle(self, *args, **options) -> None:
        purged = account_purge_unactivated()
        self.stdout.write(f"purged {purged} unactivated account(s)")
