"""`vestibule oidc-client add|list|remove|rotate-secret`: the members' sections."""

import json
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, no_translations

from vestibule.oidc.models import Section
from vestibule.oidc.services import (
    SectionError,
    oidc_issuer,
    section_add,
    section_remove,
    section_secret_rotate,
    sections_list,
)


def _connection(section: Section, secret: str = "") -> dict[str, Any]:
    """What a section's developer needs to connect it."""
    application = section.application
    issuer = oidc_issuer()
    answer: dict[str, Any] = {
        "name": application.name,
        "issuer": issuer,
        "discovery": f"{issuer}/.well-known/openid-configuration",
        "client_id": application.client_id,
        "client_type": application.client_type,
        "redirect_uris": application.redirect_uris.split(),
        "post_logout_redirect_uris": application.post_logout_redirect_uris.split(),
        "backchannel_logout_uri": section.backchannel_logout_uri,
        "allowed_kinds": section.allowed_kinds,
        "required_right": section.required_right,
        "first_party": section.first_party,
        "requires_mfa": section.requires_mfa,
        "scopes": list(settings.OAUTH2_PROVIDER["SCOPES"]),
    }
    if secret:
        answer["client_secret"] = secret
    return answer


class Command(BaseCommand):
    help = "Register, list, remove the members' sections (OpenID Connect clients); rotate secrets."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="register a section; its secret is shown once")
        add.add_argument("--name", required=True)
        add.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        add.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="logouts")
        add.add_argument("--backchannel-logout-uri", default="")
        add.add_argument("--public", action="store_true", help="no secret; PKCE required")
        add.add_argument("--allow-kind", action="append", default=[], dest="kinds")
        add.add_argument("--require-right", default="")
        add.add_argument(
            "--require-mfa",
            action="store_true",
            help="members enter only after a second factor (a password-only session gives one)",
        )
        add.add_argument(
            "--third-party", action="store_true", help="members see a consent screen first"
        )
        add.add_argument("--description-fr", default="")
        add.add_argument("--description-en", default="")
        add.add_argument("--home-url", default="", help="where the portal home links to")
        add.add_argument("--json", action="store_true", dest="as_json")
        listing = actions.add_parser("list", help="the registered sections")
        listing.add_argument("--json", action="store_true", dest="as_json")
        remove = actions.add_parser("remove", help="remove a section and its tokens")
        remove.add_argument("client_id")
        rotate = actions.add_parser("rotate-secret", help="a new secret, shown once")
        rotate.add_argument("client_id")
        rotate.add_argument("--json", action="store_true", dest="as_json")

    # In English, like every command's output; the console shows the same errors in French.
    @no_translations
    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, "_" + action.replace("-", "_"))(**options)
        except SectionError as error:
            # A one-line message and exit code 2, like a wrong profile at start-up.
            raise CommandError(str(error), returncode=2) from None

    def _print(self, answer: dict[str, Any]) -> None:
        self.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2))

    def _add(self, *, as_json: bool, **options: Any) -> None:
        application, secret = section_add(
            name=options["name"],
            redirect_uris=options["redirect_uris"],
            post_logout_redirect_uris=options["logouts"],
            backchannel_logout_uri=options["backchannel_logout_uri"],
            public=options["public"],
            allowed_kinds=options["kinds"],
            required_right=options["require_right"],
            requires_mfa=options["require_mfa"],
            first_party=not options["third_party"],
            description_fr=options["description_fr"],
            description_en=options["description_en"],
            home_url=options["home_url"],
        )
        answer = _connection(application.section, secret)
        if as_json:
            return self._print(answer)
        for key in ("name", "issuer", "discovery", "client_id", "client_secret"):
            if key in answer:
                self.stdout.write(f"{key}: {answer[key]}")
        self.stdout.write(f"redirect_uris: {' '.join(answer['redirect_uris'])}")
        if secret:
            self.stdout.write("The secret is shown this once: only its hash is kept.")

    def _list(self, *, as_json: bool, **options: Any) -> None:
        answers = [_connection(section) for section in sections_list()]
        if as_json:
            self.stdout.write(json.dumps(answers, ensure_ascii=False, indent=2))
            return
        if not answers:
            self.stdout.write("No section registered (vestibule oidc-client add).")
            return
        for answer in answers:
            rules = ", ".join(answer["allowed_kinds"]) or "every kind"
            if answer["required_right"]:
                rules += f"; right {answer['required_right']}"
            self.stdout.write(
                f"{answer['client_id']}  {answer['name']}  {answer['client_type']}  "
                f"{' '.join(answer['redirect_uris'])}  ({rules})"
            )

    def _remove(self, *, client_id: str, **options: Any) -> None:
        section_remove(client_id=client_id)
        self.stdout.write(f"Removed {client_id}: its tokens no longer work.")

    def _rotate_secret(self, *, client_id: str, as_json: bool, **options: Any) -> None:
        secret = section_secret_rotate(client_id=client_id)
        if as_json:
            answer = {"client_id": client_id, "client_secret": secret, "issuer": oidc_issuer()}
            return self._print(answer)
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write("The old secret no longer works; this one is shown this once.")
