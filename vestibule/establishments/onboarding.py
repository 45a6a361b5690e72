"""Opening an establishment: the establishment, and the invitation of its first administrator
(`vestibule create-establishment` and the admin console)."""

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from vestibule.accounts.models import Account
from vestibule.audit.services import actor_label, event_record
from vestibule.config import get_profile
from vestibule.establishments.invitations import invitation_send
from vestibule.establishments.models import Establishment, Invitation
from vestibule.establishments.services import account_dormant


class EstablishmentRefused(ValueError):
    """An establishment that cannot be opened; `code` says why, `message` says it to a person."""

    MESSAGES = {
        "name_required": _("Give the establishment's name."),
        "email_invalid": _("Enter a valid e-mail address for the first administrator."),
    }

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def message(self) -> str:
        return str(self.MESSAGES.get(self.code, self.code))


@transaction.atomic
def establishment_open(
    *,
    name: str,
    admin_email: str,
    admin_name: str = "",
    region: str = "",
    actor: Account | None,
    request: HttpRequest | None = None,
) -> Invitation:
    """A new establishment and the invitation of its first administrator, with every right;
    accepting it (the ordinary invitation path) makes that account its owner.

    `vestibule create-establishment` (actor None: the operator) and the admin console.
    """
    name = name.strip()
    if not name:
        raise EstablishmentRefused("name_required")
    admin_email = admin_email.strip().lower()
    try:
        validate_email(admin_email)
    except ValidationError:
        raise EstablishmentRefused("email_invalid") from None
    establishment = Establishment.objects.create(
        name=name, public_id=secrets.token_hex(4).upper(), region=region.strip()
    )
    event_record(
        "establishment.created",
        request=request,
        account=actor,
        subject=establishment.public_id,
        establishment=establishment.public_id,
        name=name,
        by=actor_label(actor),
        administrator=admin_email,
    )
    first_name, _space, last_name = admin_name.strip().partition(" ")
    existing = Account.objects.by_email(admin_email).first()
    return invitation_send(
        establishment=establishment,
        email=admin_email,
        rights=[right.key for right in get_profile().access_rights],
        inviter=actor,
        first_name=first_name,
        last_name=last_name,
        for_existing_account=existing is not None and not account_dormant(existing),
        as_owner=True,
        request=request,
    )
