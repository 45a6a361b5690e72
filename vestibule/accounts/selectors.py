from vestibule.accounts.models import Account
from vestibule.config import Profile, get_profile
from vestibule.registry.identifiers import identifier_parse


def account_by_identifier(raw: str, profile: Profile | None = None) -> Account | None:
    """The account a typed « Identifiant » names: by e-mail (any case) or by member code."""
    identifier = identifier_parse(raw or "", profile or get_profile())
    if identifier.email:
        return Account.objects.by_email(identifier.email).first()
    if identifier.code:
        return Account.objects.filter(code=identifier.code).first()
    return None
