"""Single-use e-mailed keys: 256 random bits, only their SHA-256 is stored."""

import hashlib
import secrets


def key_new() -> tuple[str, str]:
    """A fresh key for the link and the digest to store."""
    key = secrets.token_urlsafe(32)
    return key, key_digest(key)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
