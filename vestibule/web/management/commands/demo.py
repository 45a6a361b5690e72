import csv
import os
import signal
import socket
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from vestibule.accounts.models import Account
from vestibule.accounts.security_questions import security_answers_set
from vestibule.config import PROFILES_DIR, get_profile
from vestibule.coverage.services import coverage_import, coverage_link_by_email
from vestibule.establishments.models import Establishment, Membership
from vestibule.oidc.models import Section
from vestibule.oidc.services import section_add, section_remove, section_secret_rotate
from vestibule.registry.models import Member
from vestibule.registry.services import member_import

DEMO_PASSWORD = "demo-vestibule-2026"
DEMO_ANSWER = "demo"
# The example members' section (examples/members_section/), found again by its name.
SECTION_NAME = "Espace membres (exemple)"
SECTION_APP = Path(__file__).resolve().parents[4] / "examples" / "members_section" / "app.py"


def _port_free(port: int) -> bool:
    """Whether the demo can listen on 127.0.0.1:`port` (checked before anything is printed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers do: a port left in TIME_WAIT by a demo just stopped is free again.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Development demo: migrate, load the profile's demo members and accounts, serve."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--no-serve", action="store_true", help="set up only")

    def handle(self, *args, port: str, no_serve: bool, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo is for development; VESTIBULE_ENV is production")
        if not no_serve:
            for busy in (int(port), int(port) + 1):
                if not _port_free(busy):
                    raise CommandError(
                        f"port {busy} is busy (another demo or server?): stop it, or choose"
                        f" other ports with `make demo PORT={int(port) + 10}`"
                    )
        call_command("migrate", interactive=False, verbosity=0)
        profile = get_profile()
        members_file = PROFILES_DIR / "demo" / f"{profile.name}.members.csv"
        if members_file.exists():
            with members_file.open(encoding="utf-8", newline="") as rows:
                report = member_import(rows=rows, profile=profile)
            self.stdout.write(f"Demo registry: {report.lines()[-1]}")
        accounts = self._accounts(profile.name)
        self._establishments(profile.name)
        self._coverage(profile, accounts)
        section_port = int(port) + 1
        section_client = self._section(section_port)
        self._banner(profile, accounts, port, section_port)
        if not no_serve:
            if "VESTIBULE_BASE_URL" not in os.environ:
                # Links in e-mails lead to the port this demo serves, not to the default one.
                settings.VESTIBULE_BASE_URL = f"http://127.0.0.1:{port}"
            section = self._section_start(section_port, *section_client)
            # A stopped demo (Ctrl-C, or SIGTERM from a test) stops its section too.
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
            finally:
                if section is not None:
                    section.terminate()
                    section.wait(10)

    @transaction.atomic
    def _section(self, port: int) -> tuple[str, str]:
        """Register the example section through the operator's services, or give it a new
        secret (none is kept on disk: the example's process gets it); registered again when
        the port changed. (client_id, secret)."""
        base = f"http://127.0.0.1:{port}"
        existing = (
            Section.objects.select_related("application")
            .filter(application__name=SECTION_NAME)
            .first()
        )
        if existing is not None:
            client_id = existing.application.client_id
            if existing.application.redirect_uris == f"{base}/callback":
                return client_id, section_secret_rotate(client_id=client_id)
            section_remove(client_id=client_id)
        application, secret = section_add(
            name=SECTION_NAME,
            redirect_uris=[f"{base}/callback"],
            post_logout_redirect_uris=[f"{base}/"],
            backchannel_logout_uri=f"{base}/backchannel-logout",
            description_fr="Exemple de section réservée aux membres (make demo).",
            description_en="Example of a members-only section (make demo).",
            home_url=f"{base}/",
        )
        return application.client_id, secret

    def _section_start(self, port: int, client_id: str, secret: str) -> subprocess.Popen | None:
        if not SECTION_APP.exists():
            self.stderr.write(f"No example section at {SECTION_APP}: not started.")
            return None
        issuer = f"{settings.VESTIBULE_BASE_URL.rstrip('/')}/o"
        env = dict(
            os.environ,
            ISSUER=issuer,
            CLIENT_ID=client_id,
            CLIENT_SECRET=secret,
            PORT=str(port),
            NAME=SECTION_NAME,
        )
        return subprocess.Popen([sys.executable, str(SECTION_APP)], env=env)  # noqa: S603 (our file)

    @transaction.atomic
    def _accounts(self, profile_name: str) -> list[Account]:
        accounts_file = PROFILES_DIR / "demo" / f"{profile_name}.accounts.csv"
        if not accounts_file.exists():
            return []
        accounts = []
        with accounts_file.open(encoding="utf-8", newline="") as rows:
            for row in csv.DictReader(rows):
                account = Account.objects.by_email(row["email"]).first()
                if account is None:
                    account = Account(
                        email=row["email"],
                        code=row["code"] or None,
                        kind=row["kind"],
                        first_name=row["first_name"],
                        last_name=row["last_name"],
                        member=Member.objects.filter(code=row["code"]).first()
                        if row["code"]
                        else None,
                        status=Account.Status.ACTIVE,
                        activated_at=timezone.now(),
                    )
                    account.set_password(DEMO_PASSWORD)
                    account.save()
                    questions = get_profile().security_questions[:3]
                    if questions:
                        security_answers_set(
                            account=account, answers={q.key: DEMO_ANSWER for q in questions}
                        )
                accounts.append(account)
        return accounts

    @transaction.atomic
    def _establishments(self, profile_name: str) -> None:
        """Rows name, public_id, email, rights (;-separated): one membership each."""
        path = PROFILES_DIR / "demo" / f"{profile_name}.establishments.csv"
        if not path.exists():
            return
        with path.open(encoding="utf-8", newline="") as rows:
            for row in csv.DictReader(rows):
                establishment, _ = Establishment.objects.get_or_create(
                    public_id=row["public_id"], defaults={"name": row["name"]}
                )
                Membership.objects.get_or_create(
                    account=Account.objects.by_email(row["email"]).get(),
                    establishment=establishment,
                    # The first row of an establishment is its owner, as its creator would be.
                    defaults={
                        "rights": row["rights"].split(";"),
                        "is_owner": not establishment.memberships.exists(),
                    },
                )

    def _coverage(self, profile, accounts: list[Account]) -> None:
        """Seed 004's demo records; the demo accounts live in the first region and are linked."""
        path = PROFILES_DIR / "demo" / f"{profile.name}.coverage.csv"
        if not path.exists() or not profile.regions:
            return
        with path.open(encoding="utf-8", newline="") as rows:
            report = coverage_import(rows=rows, profile=profile)
        self.stdout.write(f"Demo coverage: {report.lines()[-1]}")
        self.stdout.write(
            "  Sign up as a covered person: jean.roy@example.org (Québec: linked at once), or any"
            " other address and claim with a code sent to jean.roy@acme.example"
        )
        for account in accounts:
            if not account.region:
                account.region = profile.regions[0].key
                account.save(update_fields=["region"])
            coverage_link_by_email(account=account)

    def _banner(self, profile, accounts: list[Account], port: str, section_port: int) -> None:
        url = f"http://127.0.0.1:{port}"
        free = Member.objects.filter(account__isnull=True, active=True)[:3]
        lines = [
            "",
            f"Vestibule demo — profile '{profile.name}' ({profile.organisation.name})",
            f"  Portal:        {url}/",
            f"  E-mails sent:  {url}/dev/mail/  (and printed on this console)",
            f"  Members' section (signs in through Vestibule, OpenID Connect):"
            f" http://127.0.0.1:{section_port}/",
        ]
        for account in accounts:
            lines.append(f"  Sign in as:    {account.identifier}  /  {DEMO_PASSWORD}")
        if profile.security_questions and accounts:
            lines.append(f"  Security answers of the demo accounts: {DEMO_ANSWER}")
        if settings.VESTIBULE_CAPTCHA_FIXED_ANSWER:
            lines.append(f"  Captcha answer (fixed): {settings.VESTIBULE_CAPTCHA_FIXED_ANSWER}")
        for member in free:
            lines.append(
                f"  Sign up as:    e-mail {member.email}  with code {member.code} ({member.kind})"
            )
        if "registration" in profile.flows and profile.registration.mode == "open":
            lines.append("  Sign up as:    any e-mail address (open registration)")
        lines += [
            "  Second factor: « Compte » → « Sécurité de la connexion »: an authenticator app"
            " (QR code), recovery codes, a passkey",
            f"                 (passkeys need http://localhost:{port}/: browsers refuse an IP"
            " address as their site)",
            "  Staff console: vestibule createsuperuser, then /admin/ → Comptes →"
            " « Page de soutien »",
            "  Management API: vestibule api-client add --name Test --scope registry:read --json,"
            f" then docs/api.md ({url}/api/v1/docs)",
        ]
        lines.append(
            "  Other profiles: VESTIBULE_PROFILE=physicians make demo "
            "(default, dentists, extranet, physicians, community, telehealth)"
        )
        lines.append("")
        self.stdout.write("\n".join(lines))
