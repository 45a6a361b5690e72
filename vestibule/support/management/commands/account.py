"""`vestibule account ACTION IDENTIFIER`: an operator runs one account's life from the shell.

The same service functions as the admin console's account page, with the operator as the
actor (audited as "operator"). A refusal or an unknown identifier is one line on stderr
and exit code 2, with nothing changed: each service is one transaction.
"""

import json
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.core.serializers.json import DjangoJSONEncoder

from vestibule.accounts.email_change import email_change_request, email_normalise
from vestibule.accounts.lifecycle import (
    AccountActionRefused,
    account_delete,
    account_disable,
    account_enable,
    account_find,
    account_sessions_end,
)
from vestibule.accounts.lockout import account_is_locked
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.flows.links import activation_link_resend, reset_link_send
from vestibule.privacy.services import account_export

SIGN_INS_SHOWN = 5


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def account_summary(account: Account) -> dict[str, Any]:
    """What `show` prints: status, lock, last sign-ins, sessions, memberships."""
    sign_ins = Event.objects.filter(account=account, kind="sign_in.succeeded").order_by(
        "-created_at", "-id"
    )[:SIGN_INS_SHOWN]
    memberships = account.memberships.select_related("establishment").order_by(
        "establishment__name"
    )
    return {
        "id": account.pk,
        "email": account.email,
        "code": account.code,
        "member_code": account.member.code if account.member_id else None,
        "kind": account.kind,
        "name": f"{account.first_name} {account.last_name}".strip(),
        "status": account.status,
        "staff": account.is_staff,
        "superuser": account.is_superuser,
        "created_at": _time(account.created_at),
        "activated_at": _time(account.activated_at),
        "locked": account_is_locked(account),
        "locked_at": _time(account.locked_at),
        "disabled_at": _time(account.disabled_at),
        "disabled_reason": account.disabled_reason,
        "disabled_cause": account.disabled_cause,
        "deletion_requested_at": _time(account.deletion_requested_at),
        "last_sign_ins": [
            {"at": _time(event.created_at), "ip_address": event.ip_address} for event in sign_ins
        ],
        "sessions": [
            {
                "browser": record.user_agent,
                "ip_address": record.ip_address,
                "last_used": _time(record.last_seen_at),
            }
            for record in account.session_records.order_by("-last_seen_at")
        ],
        "memberships": [
            {
                "establishment": membership.establishment.name,
                "establishment_id": membership.establishment.public_id,
                "rights": membership.rights,
                "owner": membership.is_owner,
            }
            for membership in memberships
        ],
    }


class Command(BaseCommand):
    help = (
        "Show or act on one account, named by its e-mail, licence or user code: show, "
        "disable, enable, change-email, send-reset, resend-activation, end-sessions, "
        "export, delete."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)

        def action(name: str, help: str) -> ArgumentParser:
            sub = actions.add_parser(name, help=help)
            sub.add_argument("identifier", metavar="IDENTIFIER", help="e-mail, licence or code")
            return sub

        show = action("show", "status, lock, last sign-ins, sessions, memberships")
        show.add_argument("--json", action="store_true", dest="as_json")
        disable = action("disable", "it can no longer sign in; its sessions end")
        disable.add_argument("--reason", required=True)
        action("enable", "it can sign in again")
        change = action("change-email", "a confirmation link goes to NEW, a notice to the old")
        change.add_argument("new_email", metavar="NEW")
        action("send-reset", "e-mail a password-reset link")
        action("resend-activation", "e-mail the activation link again")
        action("end-sessions", "sign it out of every browser and section")
        action("export", "print the member's data as JSON")
        delete = action("delete", "delete it for good (needs --yes)")
        delete.add_argument("--yes", action="store_true", help="yes, delete it")
        delete.add_argument("--reason", default="")

    # In English, like every command's output; the console says the same in French.
    @no_translations
    def handle(self, *args: Any, action: str, identifier: str, **options: Any) -> None:
        try:
            account = account_find(identifier)
            getattr(self, "_" + action.replace("-", "_"))(account, **options)
        except AccountActionRefused as refused:
            # One line and exit code 2, like a wrong profile at start-up.
            raise CommandError(refused.message, returncode=2) from None

    def _print_json(self, answer: Any) -> None:
        self.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder))

    def _show(self, account: Account, *, as_json: bool, **options: Any) -> None:
        summary = account_summary(account)
        if as_json:
            return self._print_json(summary)
        for key in ("email", "code", "member_code", "kind", "name", "status"):
            if summary[key]:
                self.stdout.write(f"{key}: {summary[key]}")
        if summary["staff"] or summary["superuser"]:
            self.stdout.write("staff: " + ("superuser" if summary["superuser"] else "yes"))
        if summary["disabled_at"]:
            self.stdout.write(
                f"disabled: {summary['disabled_at']} ({summary['disabled_cause']}) "
                f"{summary['disabled_reason']}".rstrip()
            )
        if summary["deletion_requested_at"]:
            self.stdout.write(f"deletion requested: {summary['deletion_requested_at']}")
        self.stdout.write(
            f"locked: {'since ' + summary['locked_at'] if summary['locked'] else 'no'}"
        )
        self.stdout.write(f"created: {summary['created_at']}")
        self.stdout.write(f"activated: {summary['activated_at'] or 'no'}")
        self.stdout.write("last sign-ins:" + ("" if summary["last_sign_ins"] else " none"))
        for sign_in in summary["last_sign_ins"]:
            self.stdout.write(f"  {sign_in['at']} from {sign_in['ip_address'] or '?'}")
        self.stdout.write(f"sessions: {len(summary['sessions'])}")
        self.stdout.write("memberships:" + ("" if summary["memberships"] else " none"))
        for membership in summary["memberships"]:
            owner = ", owner" if membership["owner"] else ""
            rights = ", ".join(membership["rights"]) or "no right"
            self.stdout.write(
                f"  {membership['establishment']} ({membership['establishment_id']}): "
                f"{rights}{owner}"
            )

    def _disable(self, account: Account, *, reason: str, **options: Any) -> None:
        if account_disable(account=account, reason=reason, actor=None):
            self.stdout.write(f"disabled {account.email}; its sessions are ended")
        else:
            self.stdout.write(f"{account.email} was already disabled")

    def _enable(self, account: Account, **options: Any) -> None:
        if account_enable(account=account, actor=None):
            account.refresh_from_db(fields=["status"])
            self.stdout.write(f"enabled {account.email} ({account.status})")
        else:
            self.stdout.write(f"{account.email} was not disabled")

    def _change_email(self, account: Account, *, new_email: str, **options: Any) -> None:
        email_change_request(account=account, new_email=new_email, actor=None)
        self.stdout.write(
            f"a confirmation link was sent to {email_normalise(new_email)}; the login changes "
            "when it is opened"
        )

    def _send_reset(self, account: Account, **options: Any) -> None:
        reset_link_send(account=account, actor=None)
        self.stdout.write(f"a password-reset link was sent to {account.email}")

    def _resend_activation(self, account: Account, **options: Any) -> None:
        activation_link_resend(account=account, actor=None)
        self.stdout.write(f"the activation link was sent again to {account.email}")

    def _end_sessions(self, account: Account, **options: Any) -> None:
        account_sessions_end(account=account, actor=None)
        self.stdout.write(f"every session of {account.email} is ended")

    def _export(self, account: Account, **options: Any) -> None:
        self._print_json(account_export(account=account, actor=None))

    def _delete(self, account: Account, *, yes: bool, reason: str, **options: Any) -> None:
        if not yes:
            raise CommandError(
                f"deleting {account.email} cannot be undone: add --yes to confirm", returncode=2
            )
        pseudonym = account_delete(account=account, actor=None, reason=reason)
        self.stdout.write(f"deleted {account.email}; its audit events now read {pseudonym}")
