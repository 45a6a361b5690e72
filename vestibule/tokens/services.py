"""One mechanism for every single-use secret: e-mailed links, invitation keys, access codes.

A key is drawn with `secrets` and handed to its owner once; only a keyed digest of it is
stored: Django's salted_hmac with one salt per purpose, so a digest of one purpose never
matches a key of another, and a leaked table tells nothing without SECRET_KEY. Keys are
checked under SECRET_KEY and each SECRET_KEY_FALLBACKS, so rotating the key keeps live
tokens. A token belongs to a purpose and, when there is one, an account; it expires; and it
is spent by one conditional UPDATE inside the transaction of what it is used for: of two
concurrent uses exactly one wins, and a failure after the spending rolls it back.
"""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.crypto import salted_hmac

from vestibule.batches import delete_in_batches
from vestibule.tokens.models import Token

Purpose = Token.Purpose

# Codes a person types from an e-mail: 8 characters of 31 that cannot be mistaken for one
# another (no I, L, O, 0, 1), 31**8 ≈ 2**39.6. Far below a link's 256 bits, enough only
# because a code is single-use, expires and its tries are capped and throttled by its user.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
TYPED = {Purpose.ACCESS_CODE}

SALTS = {
    Purpose.ACTIVATION: "vestibule.tokens.activation",
    Purpose.RECOVERY: "vestibule.tokens.recovery",
    Purpose.INVITATION: "vestibule.tokens.invitation",
    # The salt access codes had before this module: codes e-mailed earlier keep working.
    Purpose.ACCESS_CODE: "vestibule.coverage.access_code",
}
# Among a million codes on file, drawing one already there is likely (birthday odds).
DRAWS = 5


class TokenInvalid(Exception):
    """A key that opens nothing; `reason` is "unknown", "used" or "expired"."""

    reason = "invalid"

    def __init__(self, token: Token | None = None) -> None:
        super().__init__(self.reason)
        self.token = token


class TokenUnknown(TokenInvalid):
    reason = "unknown"


class TokenUsed(TokenInvalid):
    reason = "used"


class TokenExpired(TokenInvalid):
    reason = "expired"


def key_new(purpose: str) -> str:
    if purpose in TYPED:
        return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return secrets.token_urlsafe(32)


def key_digest(*, purpose: str, key: str, secret: str | bytes | None = None) -> str:
    """The stored form of `key`: an HMAC under `secret` (SECRET_KEY) and the purpose's salt."""
    return salted_hmac(SALTS[purpose], key, secret=secret, algorithm="sha256").hexdigest()


def _digests(purpose: str, key: str) -> list[str]:
    return [
        key_digest(purpose=purpose, key=key, secret=secret)
        for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]


def token_issue(
    *,
    purpose: str,
    lifetime: timedelta,
    account: Any = None,
    payload: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[str, Token]:
    """A new token and its key: the key goes to its owner and is never stored."""
    now = now or timezone.now()
    for attempt in range(DRAWS):
        key = key_new(purpose)
        try:
            with transaction.atomic():
                token = Token.objects.create(
                    purpose=purpose,
                    digest=key_digest(purpose=purpose, key=key),
                    account=account,
                    payload=payload or {},
                    created_at=now,
                    expires_at=now + lifetime,
                )
            return key, token
        except IntegrityError:
            if attempt == DRAWS - 1:
                raise
    raise AssertionError("unreachable")


def token_find(
    *, key: str, purpose: str, account: Any = None, now: datetime | None = None
) -> Token:
    """The live token of `purpose` behind `key` (and of `account`, when one is expected).

    Nothing is spent. Raises TokenUnknown, or TokenUsed / TokenExpired carrying the token.
    """
    token = (
        Token.objects.select_related("account")
        .filter(purpose=purpose, digest__in=_digests(purpose, key))
        .first()
    )
    if token is None or (account is not None and token.account_id != account.pk):
        # Another account's token reads as no token: nothing is told about its owner.
        raise TokenUnknown
    if token.used_at is not None:
        raise TokenUsed(token)
    if token.expires_at <= (now or timezone.now()):
        raise TokenExpired(token)
    return token


def token_spend(*, token_id: int | None, account: Any = None, now: datetime | None = None) -> None:
    """Spend a token in the caller's transaction: of concurrent spenders exactly one returns.

    The others get TokenUsed (or TokenExpired, TokenUnknown). `account`, when given, must be
    the token's.
    """
    if not connection.in_atomic_block:
        # Spent apart from its use, a crash between the two would waste or replay the key.
        raise RuntimeError("A token is spent in the transaction that uses it.")
    now = now or timezone.now()
    live = Token.objects.filter(pk=token_id, used_at__isnull=True, expires_at__gt=now)
    if account is not None:
        live = live.filter(account=account)
    if live.update(used_at=now):
        return
    token = Token.objects.filter(pk=token_id).first()
    if token is None or (account is not None and token.account_id != account.pk):
        raise TokenUnknown
    if token.used_at is not None:
        raise TokenUsed(token)
    raise TokenExpired(token)


def token_use(*, key: str, purpose: str, account: Any = None, now: datetime | None = None) -> Token:
    """token_find and token_spend in one: the token, now spent."""
    now = now or timezone.now()
    token = token_find(key=key, purpose=purpose, account=account, now=now)
    token_spend(token_id=token.pk, account=account, now=now)
    token.used_at = now
    return token


def tokens_revoke(tokens: QuerySet[Token], *, now: datetime | None = None) -> int:
    """End the unused `tokens` (a password changed, a record linked, an invitation revoked)."""
    return tokens.filter(used_at__isnull=True).update(used_at=now or timezone.now())


SPENT_KEPT = timedelta(days=1)


def tokens_purge(*, now: datetime | None = None) -> int:
    """Delete the tokens spent or expired more than a day ago; return how many.

    Their digests open nothing any more; the day kept lets a link opened just too late
    still read as "expired" rather than "unknown". A token a record keeps as its own (an
    invitation, an access code: the relations that protect it) stays with that record,
    which shows its state; the tokens app names none of them.
    """
    cutoff = (now or timezone.now()) - SPENT_KEPT
    done = Token.objects.filter(Q(used_at__lt=cutoff) | Q(expires_at__lt=cutoff))
    for relation in Token._meta.related_objects:
        if relation.on_delete is models.PROTECT:
            done = done.filter(**{f"{relation.name}__isnull": True})
    return delete_in_batches(done)
