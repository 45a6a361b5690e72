import time
from argparse import ArgumentParser

from django.core.management.base import BaseCommand
from django.db import DatabaseError, connections

from vestibule.accounts.services import account_purge_unactivated
from vestibule.accounts.sessions import sessions_purge_expired
from vestibule.notifications.services import messages_send
from vestibule.oidc.logout import deliveries_send

PURGE_EVERY = 3600  # seconds


class Command(BaseCommand):
    help = (
        "Send the e-mails waiting in the outbox and the sections' back-channel logouts, "
        "retrying with back-off; also purges "
        "unactivated accounts and expired sessions once an hour. Runs until stopped, or once "
        "with --once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="one round, then exit")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")

    def handle(self, *args, once: bool, interval: float, **options) -> None:
        last_purge: float | None = None
        while True:
            try:
                sent, failed = messages_send()
                if sent or failed:
                    self.stdout.write(f"sent {sent}, failed {failed}")
                # The sections' back-channel logouts wait in their own queue, retried alike.
                sent, failed = deliveries_send()
                if sent or failed:
                    self.stdout.write(f"logout tokens sent {sent}, failed {failed}")
                if last_purge is None or time.monotonic() - last_purge >= PURGE_EVERY:
                    purged = account_purge_unactivated()
                    sessions_purge_expired()
                    last_purge = time.monotonic()
                    if purged:
                        self.stdout.write(f"purged {purged} unactivated account(s)")
            except DatabaseError as error:
                # The database restarted or is unreachable: drop the connection and retry.
                self.stderr.write(f"database unavailable: {error}")
                connections.close_all()
                if once:
                    raise
            if once:
                return
            time.sleep(interval)
