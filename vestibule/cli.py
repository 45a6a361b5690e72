"""The `vestibule` command: the project's commands, then any Django management command."""

import os
import sys

COMMANDS = {
    "demo": "migrate, load the demo registry and accounts, serve on 127.0.0.1:$PORT (development)",
    "serve": "serve with gunicorn (production): --bind, --workers",
    "migrate": "create or update the database tables",
    "import-members": "import or update the member registry from a CSV file",
    "worker": "run the scheduled work: outbox, logouts, purges, retention (--once: one round)",
    "send-mail": "the former name of worker (--once kept)",
    "purge-unactivated": "delete accounts left unactivated past the profile's delay",
    "createsuperuser": "create a staff account for the admin console (/admin/)",
    "account": "one account: show, disable, enable, change-email, send-reset, "
    "resend-activation, end-sessions, export, delete",
    "create-establishment": "an establishment and its first administrator's invitation",
    "check-profile": "validate a profile (VESTIBULE_PROFILE, or a name or path given)",
    "import-coverage": "import or update coverage records from a CSV (--send-invitations)",
    "send-coverage-invitations": "e-mail an access code to each coverage record not invited yet",
    "oidc-client": "members' sections (OpenID Connect clients): add, list, remove, rotate-secret",
    "api-client": "management API clients (OAuth client credentials): add, list, remove, "
    "rotate-secret",
    "oidc-key": "OpenID Connect signing keys: rotate, prune, show (then restart the nodes)",
    "webhook": "webhooks for security events: add (secret shown once), list, remove",
    "export-openapi-schema": "the management API description (--api vestibule.api.v1.api)",
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [
        "usage: vestibule COMMAND [options]",
        "",
        "Vestibule, the entrance to members-only sections. Commands:",
        *(f"  {name.ljust(width)}  {text}" for name, text in COMMANDS.items()),
        "",
        "Any Django management command also works (vestibule help lists them).",
        "Configuration comes from environment variables: see the README.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    if len(argv) < 2 or argv[1] in {"-h", "--help"}:
        print(usage())
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vestibule.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from vestibule.config import ProfileError

    argv[1] = argv[1].replace("-", "_")
    try:
        import django

        django.setup()
        execute_from_command_line(argv)
    except (ProfileError, ImproperlyConfigured) as error:
        print(f"vestibule: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
