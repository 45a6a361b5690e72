"""`vestibule webhook add|list|remove`: where the security events are pushed."""

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, no_translations

from vestibule.webhooks.models import Endpoint
from vestibule.webhooks.services import (
    WebhookError,
    endpoint_add,
    endpoint_remove,
    endpoints_list,
)
from vestibule.webhooks.signing import HEADER


def _description(endpoint: Endpoint, secret: str = "") -> dict[str, Any]:
    answer: dict[str, Any] = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "kinds": endpoint.kinds,
        "active": endpoint.active,
        "created_at": endpoint.created_at.isoformat(),
    }
    if secret:
        answer["secret"] = secret
        answer["signature_header"] = HEADER
    return answer


class Command(BaseCommand):
    help = "Register, list, remove the webhooks that receive security events, signed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a URL; its signing secret is shown once")
        add.add_argument("--url", required=True)
        add.add_argument(
            "--kind", action="append", required=True, dest="kinds", help="e.g. sign_in.failed"
        )
        add.add_argument("--json", action="store_true", dest="as_json")
        listing = actions.add_parser("list", help="the registered webhooks")
        listing.add_argument("--json", action="store_true", dest="as_json")
        remove = actions.add_parser("remove", help="remove a webhook and its deliveries")
        remove.add_argument("id", type=int)

    # In English, like every command's output.
    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, "_" + action)(**options)
        except WebhookError as error:
            raise CommandError(str(error), returncode=2) from None

    def _add(self, *, url: str, kinds: list[str], as_json: bool, **options: Any) -> None:
        endpoint, secret = endpoint_add(url=url, kinds=kinds)
        answer = _description(endpoint, secret)
        if as_json:
            self.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"id: {endpoint.pk}")
        self.stdout.write(f"url: {endpoint.url}")
        self.stdout.write(f"kinds: {' '.join(endpoint.kinds)}")
        self.stdout.write(f"secret: {secret}")
        self.stdout.write(
            f"The secret is shown this once. Receivers check the {HEADER} header "
            "(see docs/api.md, Webhooks)."
        )

    def _list(self, *, as_json: bool, **options: Any) -> None:
        answers = [_description(endpoint) for endpoint in endpoints_list()]
        if as_json:
            self.stdout.write(json.dumps(answers, ensure_ascii=False, indent=2))
            return
        if not answers:
            self.stdout.write("No webhook registered (vestibule webhook add).")
            return
        for answer in answers:
            state = "" if answer["active"] else "  (inactive)"
            self.stdout.write(
                f"{answer['id']}  {answer['url']}  {' '.join(answer['kinds'])}{state}"
            )

    def _remove(self, *, id: int, **options: Any) -> None:
        endpoint = endpoint_remove(endpoint_id=id)
        self.stdout.write(f"Removed webhook {id} ({endpoint.url}) and its deliveries.")
