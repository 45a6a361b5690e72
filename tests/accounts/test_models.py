import pytest
from django.contrib.auth.hashers import identify_hasher
from django.db import IntegrityError

from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account

pytestmark = pytest.mark.django_db


def test_two_accounts_cannot_share_an_email_in_any_case():
    make_account(email="marie@example.org")
    with pytest.raises(IntegrityError):
        make_account(email="MARIE@example.org")


def test_two_accounts_cannot_share_a_code():
    make_account(email="a@example.org", code="12345")
    with pytest.raises(IntegrityError):
        make_account(email="b@example.org", code="12345")


def test_passwords_are_hashed_with_argon2id_at_owasp_parameters():
    account = make_account()
    assert account.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(account.password).algorithm == "argon2"
    assert PASSWORD not in account.password


def test_a_hash_made_with_other_parameters_is_upgraded_at_the_next_check(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    account = make_account()
    assert "m=102400" in account.password
    settings.PASSWORD_HASHERS = ["vestibule.accounts.hashers.VestibuleArgon2Hasher"]
    assert account.check_password(PASSWORD)
    account.refresh_from_db()
    assert "m=19456,t=2,p=1" in account.password


def test_only_active_accounts_are_active():
    assert make_account(email="a@example.org").is_active
    assert not make_account(email="b@example.org", status=Account.Status.PENDING).is_active
    assert not make_account(email="c@example.org", status=Account.Status.DISABLED).is_active


def test_the_identifier_is_the_code_else_the_email():
    assert make_account(email="a@example.org", code="12345").identifier == "12345"
    assert make_account(email="b@example.org").identifier == "b@example.org"
