"""`vestibule oidc-key rotate|prune|show`: the OpenID Connect signing keys (oidc/keys.py)."""

import datetime as dt
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from jwcrypto import jwk

from vestibule.oidc.keys import keys_ensure, keys_prune, keys_rotate

RESTART = (
    "Restart or reload every Vestibule node (they read the key folder at start) "
    "so they sign and publish the new keys."
)


def kid_of(path: Path) -> str:
    """The key id relying parties see: the JWK thumbprint, as django-oauth-toolkit computes it."""
    return jwk.JWK.from_pem(path.read_bytes()).thumbprint()


def longest_token_lifetime() -> dt.timedelta:
    """How long a retired key may still be needed: the longest token lifetime configured."""
    provider = settings.OAUTH2_PROVIDER
    seconds = max(
        int(provider.get(name, 0))
        for name in (
            "ID_TOKEN_EXPIRE_SECONDS",
            "ACCESS_TOKEN_EXPIRE_SECONDS",
            "REFRESH_TOKEN_EXPIRE_SECONDS",
        )
    )
    return dt.timedelta(seconds=seconds)


class Command(BaseCommand):
    help = "Rotate, prune or show the OpenID Connect signing keys (VESTIBULE_OIDC_KEY_DIR)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("rotate", help="next key signs, active key retires, a new next key")
        actions.add_parser("prune", help="drop retired keys older than the longest token lifetime")
        actions.add_parser("show", help="the key ids (kid) of the active, next and retired keys")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        folder = Path(settings.OIDC_KEY_DIR)
        if action == "rotate":
            keys_rotate(folder)
            self.stdout.write(f"Rotated: {kid_of(folder / 'active.pem')} signs from now on.")
            self.stdout.write(RESTART)
        elif action == "prune":
            lifetime = longest_token_lifetime()
            dropped = keys_prune(folder, older_than=lifetime)
            self.stdout.write(f"Dropped {dropped} retired key(s) older than {lifetime}.")
            if dropped:
                self.stdout.write(RESTART)
        self._show(folder)

    def _show(self, folder: Path) -> None:
        keys_ensure(folder)
        self.stdout.write(f"Key folder: {folder}")
        self.stdout.write(f"active   {kid_of(folder / 'active.pem')}")
        self.stdout.write(f"next     {kid_of(folder / 'next.pem')}")
        for path in sorted(folder.glob("retired-*.pem")):
            stamp = path.stem.removeprefix("retired-")
            self.stdout.write(f"retired  {kid_of(path)}  (since {stamp})")
