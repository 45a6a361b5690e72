"""Outbox bodies sealed at rest: they carry live links and access codes.

Whoever reads the database (a backup, a read replica, a superuser's SQL console) finds
only ciphertext; the sender alone opens it, just before handing it to SMTP. The key is
derived from SECRET_KEY for this purpose only (Fernet: AES-128-CBC with an HMAC-SHA256);
every key of SECRET_KEY_FALLBACKS still opens what was sealed before a rotation.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

PURPOSE = "vestibule.notifications.outbox"

__all__ = ["InvalidToken", "body_seal", "body_unseal"]


def _fernet(secret: str) -> Fernet:
    digest = salted_hmac(PURPOSE, "fernet-key", secret=secret, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _keys() -> MultiFernet:
    """The current key first (it seals), then the fallbacks (they only open)."""
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet([_fernet(secret) for secret in secrets])


def body_seal(text: str) -> str:
    """Ciphertext of `text` (empty stays empty: a wiped body)."""
    if not text:
        return ""
    return _keys().encrypt(text.encode()).decode("ascii")


def body_unseal(sealed: str) -> str:
    """The text sealed by body_seal(); InvalidToken when no configured key opens it."""
    if not sealed:
        return ""
    return _keys().decrypt(sealed.encode("ascii")).decode()
