"""Access codes: short enough to type from an e-mail, never stored in clear.

A code is 8 characters from 31 that cannot be mistaken for one another (no I, L, O, 0, 1):
31**8 ≈ 2**39.6. That is far below the 128 bits of an e-mailed link, and it is enough only
because a code is single-use, expires, ends its claim after 5 wrong tries and is throttled
per account and per client address: online guessing cannot cover a useful part of 2**39.
Offline it would fall in minutes to plain SHA-256, so the stored digest is an HMAC keyed
with the SECRET_KEY (Django's salted_hmac): the table alone, from a leaked backup, tells
nothing.
"""

import re
import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
LENGTH = 8
_SALT = "vestibule.coverage.access_code"
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.]+")
_SHAPE = re.compile(f"[{ALPHABET}]{{{LENGTH}}}")


def code_new() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def code_normalise(typed: str) -> str:
    """« abcd-efgh », « ABCD EFGH » and « abcdefgh » are the same code."""
    return _SEPARATORS.sub("", typed).upper()


def code_is_well_formed(code: str) -> bool:
    return bool(_SHAPE.fullmatch(code))


def code_display(code: str) -> str:
    """ABCDEFGH is shown ABCD-EFGH: two groups are easier to copy by hand."""
    half = LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def code_digest(code: str, secret: str | bytes | None = None) -> str:
    return salted_hmac(_SALT, code, secret=secret, algorithm="sha256").hexdigest()


def code_digests(code: str) -> list[str]:
    """The digests under the current key and its fallbacks: rotating the key keeps codes."""
    secrets_in_use = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [code_digest(code, secret) for secret in secrets_in_use]
