"""Issue 18: a password is hashed before its transaction opens, never while holding a lock.

Argon2id takes ~20 ms of CPU. Inside a transaction it would hold its locks that long: on
SQLite, the one writer's lock, so every other sign-up, reset or sign-in audit would wait
behind each hash (the sign-up benchmark's p99 was six times its p50).
"""

import pytest
from django.db import connection
from django.test import Client

from tests.factories import PASSWORD, make_account
from tests.flows.walk import answer, last_link, start
from vestibule.accounts.hashers import VestibuleArgon2Hasher

pytestmark = pytest.mark.django_db(transaction=True)  # no test-wide transaction to hide in
NEW = "a fresh passphrase 2026"


@pytest.fixture
def in_transaction(monkeypatch) -> list[bool]:
    """For each password hashed from now on: was a transaction open on its connection?"""
    seen: list[bool] = []
    original = VestibuleArgon2Hasher.encode

    def encode(self, *args, **kwargs):
        seen.append(connection.in_atomic_block)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(VestibuleArgon2Hasher, "encode", encode)
    return seen


def test_a_reset_password_is_hashed_before_the_link_is_spent(use_profile, in_transaction):
    use_profile("community")
    account = make_account(email="member@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier=account.email)
    client.get(last_link(account.email, "password_reset"))
    in_transaction.clear()
    answer(client, "recovery", password=NEW, password_confirm=NEW)
    account.refresh_from_db()
    assert account.check_password(NEW)
    assert in_transaction == [False]


def test_a_changed_password_is_hashed_before_its_transaction(in_transaction):
    account = make_account(email="member@example.org")
    client = Client()
    client.post("/login/", {"identifier": account.email, "password": PASSWORD})
    in_transaction.clear()
    response = client.post(
        "/account/password/",
        {"current_password": PASSWORD, "password": NEW, "password_confirm": NEW},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.check_password(NEW)
    assert in_transaction == [False]


def test_a_sign_up_is_hashed_before_its_transaction(use_profile, in_transaction):
    use_profile("community")
    client = Client()
    start(client, "registration")
    response = answer(
        client,
        "registration",
        email="camille@example.org",
        password=NEW,
        password_confirm=NEW,
    )
    assert response.status_code == 302
    assert in_transaction == [False]
