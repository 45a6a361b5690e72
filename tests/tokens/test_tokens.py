"""One mechanism for every single-use secret (issue 12, item 5).

Keys drawn with `secrets`, stored only as a per-purpose salted HMAC, bound to a purpose and
an account, expiring, spent once by a conditional UPDATE in the transaction that uses them.
"""

import hashlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.concurrency import at_once
from tests.factories import make_account
from vestibule.accounts.models import Account
from vestibule.accounts.services import link_spend
from vestibule.tokens.models import Token
from vestibule.tokens.services import (
    CODE_ALPHABET,
    CODE_LENGTH,
    TokenExpired,
    TokenInvalid,
    TokenUnknown,
    TokenUsed,
    key_digest,
    token_find,
    token_issue,
    token_spend,
    token_use,
)

Purpose = Token.Purpose
HOUR = timedelta(hours=1)


def use(key: str, purpose: str = Purpose.RECOVERY, **kwargs) -> Token:
    with transaction.atomic():
        return token_use(key=key, purpose=purpose, **kwargs)


@pytest.fixture
def account(db) -> Account:
    return make_account(email="marie@example.org")


@pytest.fixture
def other(db) -> Account:
    return make_account(email="paul@example.org")


# --- Stored only as a keyed digest ---------------------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
def test_the_stored_digest_is_never_the_key_nor_its_plain_hash(account, purpose):
    key, token = token_issue(purpose=purpose, lifetime=HOUR, account=account)
    stored = Token.objects.filter(pk=token.pk).values().get()
    assert key not in str(stored)
    assert token.digest != key
    assert token.digest != hashlib.sha256(key.encode()).hexdigest()
    assert token.digest == key_digest(purpose=purpose, key=key)


def test_a_link_key_has_256_random_bits_and_an_access_code_8_unambiguous_characters(account):
    link, _ = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    assert len(link) >= 43  # token_urlsafe(32)
    codes = {token_issue(purpose=Purpose.ACCESS_CODE, lifetime=HOUR)[0] for _ in range(50)}
    assert len(codes) == 50
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)


def test_each_purpose_has_its_own_key_for_the_digest():
    digests = {key_digest(purpose=purpose, key="the same key") for purpose in Purpose}
    assert len(digests) == len(Purpose)


# --- Single use -----------------------------------------------------------------------------


def test_a_key_is_used_once(account):
    key, _ = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    assert use(key).account == account
    with pytest.raises(TokenUsed) as again:
        use(key)
    assert again.value.reason == "used"
    with pytest.raises(TokenUsed):
        token_find(key=key, purpose=Purpose.RECOVERY)


def test_an_unknown_key_is_unknown(db):
    with pytest.raises(TokenUnknown) as unknown:
        use("not-a-key-anyone-was-sent")
    assert unknown.value.reason == "unknown" and unknown.value.token is None


def test_a_spending_rolled_back_with_its_transaction_leaves_the_key_usable(account):
    key, _ = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    with pytest.raises(RuntimeError), transaction.atomic():
        token_use(key=key, purpose=Purpose.RECOVERY)
        raise RuntimeError("the work the key was for failed")
    assert use(key).used_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_token_is_spent_only_inside_the_transaction_that_uses_it():
    account = make_account(email="marie@example.org")
    _, token = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    with pytest.raises(RuntimeError):
        token_spend(token_id=token.pk)
    assert Token.objects.get(pk=token.pk).used_at is None


# --- Expiry at ±1 s -------------------------------------------------------------------------


def test_a_key_works_one_second_before_its_expiry_and_not_one_second_after(account):
    issued = timezone.now()
    key, token = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account, now=issued)
    assert token.expires_at == issued + HOUR
    just_before, just_after = (
        issued + HOUR - timedelta(seconds=1),
        issued + HOUR + timedelta(seconds=1),
    )
    assert token_find(key=key, purpose=Purpose.RECOVERY, now=just_before) == token
    with pytest.raises(TokenExpired) as late:
        token_find(key=key, purpose=Purpose.RECOVERY, now=just_after)
    assert late.value.reason == "expired" and late.value.token == token
    with pytest.raises(TokenExpired), transaction.atomic():
        token_spend(token_id=token.pk, now=just_after)
    assert use(key, now=just_before).used_at == just_before


def test_an_expiry_moved_into_the_past_ends_the_key(account):
    key, token = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TokenExpired):
        use(key)
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(seconds=1))
    assert use(key).pk == token.pk


# --- Cross-purpose and cross-account --------------------------------------------------------


def test_a_reset_key_never_activates_an_account(db, use_profile):
    use_profile("community")
    pending = make_account(email="camille@example.org", status=Account.Status.PENDING)
    key, _ = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=pending)
    with pytest.raises(TokenUnknown):
        use(key, purpose=Purpose.ACTIVATION)
    # Through the page the activation link opens: no such link, the account stays pending.
    response = Client().get(f"/flow/registration/resume/{key}/")
    assert response.status_code == 404
    pending.refresh_from_db()
    assert pending.status == Account.Status.PENDING
    # Nor the other way round, nor as an invitation or an access code.
    activation, _ = token_issue(purpose=Purpose.ACTIVATION, lifetime=HOUR, account=pending)
    for purpose in (Purpose.RECOVERY, Purpose.INVITATION, Purpose.ACCESS_CODE):
        with pytest.raises(TokenUnknown):
            use(activation, purpose=purpose)
    assert Token.objects.filter(used_at__isnull=False).count() == 0


def test_a_key_of_one_account_is_refused_for_another(account, other):
    key, token = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    with pytest.raises(TokenUnknown):
        use(key, account=other)
    with pytest.raises(TokenUnknown), transaction.atomic():
        token_spend(token_id=token.pk, account=other)
    with transaction.atomic():
        # The reset's last stage spends the link for the account whose password it sets.
        assert link_spend(token.pk, account=other) is False
    assert Token.objects.get(pk=token.pk).used_at is None
    assert use(key, account=account).account == account


# --- Key rotation ---------------------------------------------------------------------------


def test_rotating_secret_key_keeps_live_tokens_through_the_fallbacks(settings, account):
    settings.SECRET_KEY = "the old key " * 4
    settings.SECRET_KEY_FALLBACKS = []
    old_key, _ = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    settings.SECRET_KEY = "the new key " * 4
    settings.SECRET_KEY_FALLBACKS = ["the old key " * 4]
    assert token_find(key=old_key, purpose=Purpose.RECOVERY).account == account
    new_key, new_token = token_issue(purpose=Purpose.RECOVERY, lifetime=HOUR, account=account)
    assert new_token.digest == key_digest(purpose=Purpose.RECOVERY, key=new_key)
    # Once the old key is dropped from the fallbacks, its tokens are gone.
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(TokenUnknown):
        token_find(key=old_key, purpose=Purpose.RECOVERY)
    assert use(new_key).pk == new_token.pk


# --- Concurrent use (SQLite, and PostgreSQL with DATABASE_URL) ------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("purpose", [Purpose.RECOVERY, Purpose.ACCESS_CODE])
def test_of_many_concurrent_uses_of_one_key_exactly_one_wins(purpose):
    owner = make_account(email="racer@example.org") if purpose == Purpose.RECOVERY else None
    for _round in range(3):
        key, token = token_issue(purpose=purpose, lifetime=HOUR, account=owner)
        results = at_once(*(lambda k=key: use(k, purpose=purpose) for _ in range(8)))
        winners = [r for r in results if isinstance(r, Token)]
        losers = [r for r in results if isinstance(r, TokenInvalid)]
        assert len(winners) == 1 and len(losers) == 7, results
        assert {loser.reason for loser in losers} == {"used"}
        assert Token.objects.get(pk=token.pk).used_at == winners[0].used_at
