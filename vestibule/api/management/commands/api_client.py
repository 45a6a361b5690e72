"""`vestibule api-client add|list|remove|rotate-secret`: the organisation's systems that
use the management API."""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, no_translations

from vestibule.api.clients import (
    ApiClientError,
    api_client_add,
    api_client_remove,
    api_client_secret_rotate,
    api_clients_list,
)
from vestibule.api.models import API_SCOPES, DEFAULT_RATE_PER_MINUTE, ApiClient
from vestibule.oidc.services import oidc_issuer


def _description(client: ApiClient, secret: str = "") -> dict[str, Any]:
    """What the client's developer needs to get a token."""
    answer: dict[str, Any] = {
        "name": client.name,
        "client_id": client.client_id,
        "token_endpoint": f"{oidc_issuer()}/token/",
        "grant_type": "client_credentials",
        "scopes": client.scopes,
        "rate_per_minute": client.rate_per_minute,
        "created_at": client.created_at.isoformat(),
    }
    if secret:
        answer["client_secret"] = secret
    return answer


class Command(BaseCommand):
    help = "Register, list, remove the management API's clients; rotate their secrets."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a client; its secret is shown once")
        add.add_argument("--name", required=True)
        add.add_argument(
            "--scope",
            action="append",
            required=True,
            dest="scopes",
            choices=API_SCOPES,
            help="a scope the client may be granted (repeat for several)",
        )
        add.add_argument(
            "--rate", type=int, default=DEFAULT_RATE_PER_MINUTE, help="requests/minute"
        )
        add.add_argument("--json", action="store_true", dest="as_json")
        listing = actions.add_parser("list", help="the registered clients")
        listing.add_argument("--json", action="store_true", dest="as_json")
        remove = actions.add_parser("remove", help="remove a client and its tokens")
        remove.add_argument("client_id")
        rotate = actions.add_parser("rotate-secret", help="a new secret, shown once")
        rotate.add_argument("client_id")
        rotate.add_argument("--json", action="store_true", dest="as_json")

    # In English, like every command's output.
    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, "_" + action.replace("-", "_"))(**options)
        except ApiClientError as error:
            raise CommandError(str(error), returncode=2) from None

    def _print(self, answer: Any) -> None:
        self.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2))

    def _add(self, *, name: str, scopes: list[str], rate: int, as_json: bool, **options: Any):
        client, secret = api_client_add(name=name, scopes=scopes, rate_per_minute=rate)
        answer = _description(client, secret)
        if as_json:
            return self._print(answer)
        for key in ("name", "client_id", "client_secret", "token_endpoint"):
            self.stdout.write(f"{key}: {answer[key]}")
        self.stdout.write(f"scopes: {' '.join(client.scopes)}")
        self.stdout.write(f"rate: {client.rate_per_minute} requests a minute")
        self.stdout.write("The secret is shown this once: only its hash is kept.")

    def _list(self, *, as_json: bool, **options: Any) -> None:
        answers = [_description(client) for client in api_clients_list()]
        if as_json:
            return self._print(answers)
        if not answers:
            self.stdout.write("No API client registered (vestibule api-client add).")
            return
        for answer in answers:
            self.stdout.write(
                f"{answer['client_id']}  {answer['name']}  {' '.join(answer['scopes'])}  "
                f"{answer['rate_per_minute']}/min"
            )

    def _remove(self, *, client_id: str, **options: Any) -> None:
        api_client_remove(client_id=client_id)
        self.stdout.write(f"Removed {client_id}: its tokens no longer work.")

    def _rotate_secret(self, *, client_id: str, as_json: bool, **options: Any) -> None:
        secret = api_client_secret_rotate(client_id=client_id)
        if as_json:
            return self._print({"client_id": client_id, "client_secret": secret})
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write(
            "The old secret and its tokens no longer work; this one is shown this once."
        )
