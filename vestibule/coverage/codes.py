"""Access codes as people type them: « abcd-efgh », « ABCD EFGH » and « abcdefgh » alike.

A code is a token of `vestibule.tokens` (purpose "access_code"): 8 characters from 31 that
cannot be mistaken for one another (no I, L, O, 0, 1), 31**8 ≈ 2**39.6. That is far below
the 256 bits of an e-mailed link, and it is enough only because a code is single-use,
expires, ends its claim after 5 wrong tries and is throttled per account and per client
address: online guessing cannot cover a useful part of 2**39. Offline it would fall in
minutes to plain SHA-256, so the stored digest is keyed with SECRET_KEY (salted_hmac): the
table alone, from a leaked backup, tells nothing.
"""

import re

from vestibule.tokens.services import CODE_ALPHABET, CODE_LENGTH

_SEPARATORS = re.compile(r"[\s\-‐‑–—_.]+")
_SHAPE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")


def code_normalise(typed: str) -> str:
    """« abcd-efgh », « ABCD EFGH » and « abcdefgh » are the same code."""
    return _SEPARATORS.sub("", typed).upper()


def code_is_well_formed(code: str) -> bool:
    return bool(_SHAPE.fullmatch(code))


def code_display(code: str) -> str:
    """ABCDEFGH is shown ABCD-EFGH: two groups are easier to copy by hand."""
    half = CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"
