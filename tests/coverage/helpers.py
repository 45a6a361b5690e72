"""Coverage records and access codes made the way the portal makes them."""

import re
from datetime import datetime

from vestibule.coverage.models import CoverageRecord, InvitedEmail
from vestibule.coverage.services import access_code_send
from vestibule.notifications.models import Message

CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def make_record(
    *,
    emails: dict[str, str] | None = None,
    region: str = "qc",
    plan: str = "Régime Acme",
    first_name: str = "Olivier",
    last_name: str = "Lévesque",
    primary: CoverageRecord | None = None,
    allows_dependents: bool = False,
    created_at: datetime | None = None,
) -> CoverageRecord:
    """A record invited at `emails` ({address: kind}), by default olivier@example.org."""
    fields = {"created_at": created_at} if created_at else {}
    record = CoverageRecord.objects.create(
        region=region,
        plan=plan,
        first_name=first_name,
        last_name=last_name,
        primary=primary,
        allows_dependents=allows_dependents,
        **fields,
    )
    for email, kind in (emails or {"olivier@example.org": "personal"}).items():
        InvitedEmail.objects.create(record=record, region=region, email=email, kind=kind)
    return record


def last_code(to: str) -> str:
    """The access code in the newest e-mail to `to`, as it is shown there (ABCD-EFGH)."""
    message = Message.objects.filter(to=to, template__startswith="coverage_").latest("id")
    return CODE.search(message.text()).group(0)


def send_code(record: CoverageRecord, email: str = "") -> str:
    """E-mail a new code for `record` and return it as the person reads it."""
    email = email or record.emails.first().email
    access_code_send(record=record, email=email)
    return last_code(email)
