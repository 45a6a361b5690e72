"""Signed deliveries (Stripe's scheme), and the check every receiver copies.

    Vestibule-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>

The time is inside the signed text, so a receiver that refuses a t older than its window
(5 minutes) refuses a captured delivery replayed later, and any change to the body or to
t breaks the signature. Receivers dedupe on the body's event "id" within the window.
"""

import hashlib
import hmac

HEADER = "Vestibule-Signature"
TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, now: int) -> str:
    """The Vestibule-Signature header's value for `body` sent at `now` (unix seconds)."""
    return f"t={now},v1={signature(secret, now, body)}"


def signature_verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE
) -> bool:
    """Whether `header` signs exactly `body` with `secret`, within `tolerance` seconds of `now`.

    The reference receivers copy: the raw body as received (bytes, before any JSON parsing),
    the time from the receiver's own clock.
    """
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    # Every v1 is compared, in constant time: a sender may sign with two secrets at a rotation.
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
