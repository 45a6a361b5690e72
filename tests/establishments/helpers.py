import re

from tests.factories import make_account
from vestibule.establishments.models import Establishment, Membership
from vestibule.notifications.models import Message

ALL = ["reservations", "rates", "finances", "messages", "users"]
LINK = re.compile(r"https?://[^/\s]+(/establishments/invitations/[\w-]+/)")


def hotel(name: str = "Hôtel du Port", public_id: str = "H001") -> Establishment:
    return Establishment.objects.create(name=name, public_id=public_id)


def member_of(establishment: Establishment, email: str, rights: list[str], **fields) -> Membership:
    from vestibule.accounts.models import Account

    account = Account.objects.filter(email=email).first() or make_account(email=email, **fields)
    return Membership.objects.create(account=account, establishment=establishment, rights=rights)


def invitation_link(to: str) -> str:
    message = Message.objects.filter(to=to, template__startswith="invitation").latest("id")
    return LINK.search(message.text()).group(1)
