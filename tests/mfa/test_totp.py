"""Authenticator apps (mfa/services.py): a code of the current or previous 30-second step,
once, under the password lockout; the secret sealed at rest. The clock is frozen by giving
the service the moment (`now`) and computing the codes for that moment with pyotp."""

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory

from tests.concurrency import at_once
from tests.factories import make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.mfa import services
from vestibule.mfa.models import Factor

NOW = datetime(2025, 3, 14, 9, 26, 40, tzinfo=UTC)  # a step boundary: 1741944400 = 30 × k


def request():
    return RequestFactory().post("/account/security/", REMOTE_ADDR="198.51.100.7")


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


@pytest.fixture
def account(db):
    return make_account()


@pytest.fixture
def secret():
    return services.totp_new()


@pytest.fixture
def app(account, secret):
    """An app confirmed ten minutes before NOW (its confirming code is spent)."""
    earlier = NOW - timedelta(minutes=10)
    return services.totp_confirm(
        account=account,
        secret=secret,
        code=code_at(secret, earlier),
        name="Phone",
        request=request(),
        now=earlier,
    )


def verify(account, code, moment=NOW) -> bool:
    return services.totp_verify(account=account, code=code, request=request(), now=moment)


def test_the_current_code_is_accepted(account, secret, app):
    assert verify(account, code_at(secret, NOW))
    app.refresh_from_db()
    assert app.last_used_at is not None


def test_a_code_of_the_previous_window_is_accepted(account, secret, app):
    assert verify(account, code_at(secret, NOW - timedelta(seconds=30)))


def test_a_code_two_windows_old_is_refused(account, secret, app):
    assert not verify(account, code_at(secret, NOW - timedelta(seconds=60)))


def test_a_code_of_the_next_window_is_refused(account, secret, app):
    assert not verify(account, code_at(secret, NOW + timedelta(seconds=30)))


def test_a_used_code_is_refused_the_second_time(account, secret, app):
    code = code_at(secret, NOW)
    assert verify(account, code)
    assert not verify(account, code, NOW + timedelta(seconds=10))


def test_a_code_older_than_the_last_used_one_is_refused(account, secret, app):
    assert verify(account, code_at(secret, NOW))
    assert not verify(account, code_at(secret, NOW - timedelta(seconds=30)))


def test_the_confirming_code_cannot_be_used_again(account, secret):
    code = code_at(secret, NOW)
    services.totp_confirm(
        account=account, secret=secret, code=code, name="Phone", request=request(), now=NOW
    )
    assert not verify(account, code)


def test_a_wrong_code_is_refused(account, secret, app):
    right = code_at(secret, NOW)
    assert not verify(account, f"{(int(right) + 1) % 1000000:06d}")
    assert not verify(account, "abcdef")
    assert not verify(account, "")


def test_spaces_in_a_code_are_ignored(account, secret, app):
    code = code_at(secret, NOW)
    assert verify(account, f" {code[:3]} {code[3:]} ")


def test_an_account_without_an_app_accepts_no_code(account, secret):
    assert not verify(account, code_at(secret, NOW))


def test_the_secret_is_sealed_at_rest(account, secret, app):
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM mfa_factor WHERE id = %s", [app.pk])
        row = cursor.fetchone()
    assert secret not in repr(row)
    assert secret.lower() not in repr(row).lower()
    assert app.totp_secret_sealed and app.totp_secret_sealed != secret


def test_confirming_with_a_wrong_code_adds_nothing(account, secret):
    with pytest.raises(ValidationError) as refused:
        services.totp_confirm(
            account=account, secret=secret, code="000000", name="x", request=request(), now=NOW
        )
    assert refused.value.code == "wrong_code"
    assert not Factor.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_adding_an_app_is_audited_and_mailed(account, secret, app, inbox):
    assert Event.objects.filter(kind="mfa.factor_added", account_id=account.pk).exists()
    (message,) = inbox.wait_for(account.email)
    assert "Phone" in inbox.text(message)


def test_wrong_codes_lock_the_account_like_wrong_passwords(account, secret, app):
    right = code_at(secret, NOW)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    for _ in range(5):
        assert not verify(account, wrong)
    account.refresh_from_db()
    assert account.locked_at is not None
    # A locked account's right code is refused, and not spent.
    assert not verify(account, right)
    app.refresh_from_db()
    assert app.totp_last_step < pyotp.TOTP(secret).timecode(NOW)


def test_a_locked_accounts_right_code_is_refused(account, secret, app):
    # Locked in the database (by a wrong password, or staff), whatever the counters say.
    Account.objects.filter(pk=account.pk).update(locked_at=NOW)
    account.refresh_from_db()
    assert not verify(account, code_at(secret, NOW))


def test_wrong_codes_and_wrong_passwords_share_one_count(account, secret, app):
    from vestibule.accounts.lockout import password_verify

    for _ in range(3):
        assert password_verify(account=account, password="wrong", request=request()).outcome
    right = code_at(secret, NOW)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    assert not verify(account, wrong)
    assert not verify(account, wrong)
    account.refresh_from_db()
    assert account.locked_at is not None


def test_a_right_code_forgives_earlier_failures(account, secret, app):
    right = code_at(secret, NOW)
    wrong = f"{(int(right) + 1) % 1000000:06d}"
    for _ in range(4):
        assert not verify(account, wrong)
    assert verify(account, right)
    later = NOW + timedelta(seconds=30)
    later_wrong = f"{(int(code_at(secret, later)) + 1) % 1000000:06d}"
    assert not verify(account, later_wrong, later)
    assert Account.objects.get(pk=account.pk).locked_at is None


@pytest.mark.django_db(transaction=True)
def test_the_same_code_sent_twice_at_once_is_accepted_once(account, secret, app):
    code = code_at(secret, NOW)
    results = at_once(*(lambda: verify(account, code) for _ in range(2)))
    assert sorted(results) == [False, True]
