from typing import Any

from vestibule.accounts.models import Account
from vestibule.config import get_profile
from vestibule.establishments.models import Establishment
from vestibule.establishments.services import establishment_create


def practice_for_new_member(*, account: Account, **kwargs: Any) -> None:
    """Seed 000: a dentist's activated account administers its own practice at once."""
    establishments = get_profile().establishments
    if account.kind in establishments.created_for_kinds and not account.memberships.exists():
        name = f"{establishments.label or ''} {account.get_full_name()}".strip()
        code = account.code or ""
        taken = Establishment.objects.filter(public_id=code).exists()
        establishment_create(name=name, owner=account, public_id="" if taken else code)
