"""Recovery codes (mfa/services.py): ten, stored as keyed digests, each good once, a new set
ends the old one; a wrong code counts toward the password lockout."""

import pytest
from django.db import connection
from django.test import RequestFactory

from tests.concurrency import at_once
from tests.factories import make_account
from vestibule.audit.models import Event
from vestibule.mfa import services
from vestibule.mfa.models import RecoveryCode


def request():
    return RequestFactory().post("/account/security/", REMOTE_ADDR="198.51.100.7")


@pytest.fixture
def account(db):
    return make_account()


def use(account, code) -> bool:
    return services.recovery_code_use(account=account, code=code, request=request())


def test_ten_distinct_codes_are_generated(account):
    codes = services.recovery_codes_generate(account=account, request=request())
    assert len(codes) == 10 == len(set(codes))
    assert RecoveryCode.objects.filter(account=account).count() == 10


def test_codes_are_stored_hashed(account):
    codes = services.recovery_codes_generate(account=account, request=request())
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM mfa_recoverycode")
        rows = repr(cursor.fetchall()).lower()
    for code in codes:
        assert code.lower() not in rows
        assert code.replace("-", "").lower() not in rows


def test_a_code_is_accepted_once(account):
    code = services.recovery_codes_generate(account=account, request=request())[0]
    assert use(account, code)
    assert not use(account, code)
    assert services.recovery_codes_left(account) == 9


def test_a_code_is_accepted_without_dashes_and_in_capitals(account):
    code = services.recovery_codes_generate(account=account, request=request())[3]
    assert use(account, f"  {code.replace('-', ' ').upper()} ")


def test_another_accounts_code_is_refused(account):
    other = make_account(email="paul@example.org")
    code = services.recovery_codes_generate(account=other, request=request())[0]
    services.recovery_codes_generate(account=account, request=request())
    assert not use(account, code)
    assert use(other, code)


def test_regenerating_ends_the_old_set(account):
    old = services.recovery_codes_generate(account=account, request=request())
    new = services.recovery_codes_generate(account=account, request=request())
    assert not set(old) & set(new)
    assert not use(account, old[1])
    assert use(account, new[1])
    assert RecoveryCode.objects.filter(account=account).count() == 10


def test_wrong_codes_lock_the_account(account):
    codes = services.recovery_codes_generate(account=account, request=request())
    for _ in range(5):
        assert not use(account, "aaaa-bbbb-cccc")
    account.refresh_from_db()
    assert account.locked_at is not None
    # Locked: a right code is refused and stays unspent.
    assert not use(account, codes[0])
    assert services.recovery_codes_left(account) == 10


def test_a_locked_accounts_right_code_is_refused(account):
    from django.utils import timezone

    from vestibule.accounts.models import Account

    code = services.recovery_codes_generate(account=account, request=request())[0]
    Account.objects.filter(pk=account.pk).update(locked_at=timezone.now())
    account.refresh_from_db()
    assert not use(account, code)
    assert services.recovery_codes_left(account) == 10


@pytest.mark.django_db(transaction=True)
def test_generating_and_using_are_audited_and_mailed(account, inbox):
    code = services.recovery_codes_generate(account=account, request=request())[0]
    inbox.wait_for(account.email)
    assert use(account, code)
    messages = inbox.wait_for(account.email, count=2)
    assert "9" in inbox.text(messages[-1])
    kinds = set(Event.objects.filter(account_id=account.pk).values_list("kind", flat=True))
    assert {"mfa.recovery_codes_generated", "mfa.recovery_code_used"} <= kinds


@pytest.mark.django_db(transaction=True)
def test_one_code_sent_twice_at_once_is_accepted_once(account):
    code = services.recovery_codes_generate(account=account, request=request())[0]
    results = at_once(*(lambda: use(account, code) for _ in range(2)))
    assert sorted(results) == [False, True]
