"""Test data made through the models, the way the portal itself stores it."""

from vestibule.accounts.models import Account
from vestibule.registry.models import Member

PASSWORD = "a long enough passphrase"


def make_member(**fields) -> Member:
    defaults = {
        "kind": "member",
        "code": "123456",
        "email": "marie@example.org",
        "first_name": "Marie",
        "last_name": "Tremblay",
    }
    return Member.objects.create(**{**defaults, **fields})


def make_account(password: str = PASSWORD, **fields) -> Account:
    defaults = {
        "email": "marie@example.org",
        "kind": "member",
        "first_name": "Marie",
        "last_name": "Tremblay",
        "status": Account.Status.ACTIVE,
    }
    account = Account(**{**defaults, **fields})
    account.set_password(password)
    account.save()
    return account
