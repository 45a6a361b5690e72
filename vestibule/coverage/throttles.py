"""How often access codes may be tried and asked for: per account, per client address, per inbox.

A claim "flow" is one series of tries (Ory Kratos ends a flow after a few wrong codes): the
page keeps its id in the session, and a new code starts a new one. The per-account and
per-address counts bound what starting new flows (or new sessions) could add.
"""

from vestibule.config import Profile
from vestibule.throttle import counters

WRONG_CODES_PER_ACCOUNT = counters.Rate(limit=20, period=24 * 3600)
WRONG_CODES_PER_ADDRESS = counters.Rate(limit=30, period=3600)
FLOW_MEMORY = 24 * 3600
RESENDS_PER_ACCOUNT = counters.Rate(limit=5, period=3600)
RESENDS_PER_ADDRESS = counters.Rate(limit=10, period=3600)
# Codes e-mailed to one invited address: the inbox is not a target.
CODES_PER_INBOX = counters.Rate(limit=3, period=3600)
FAMILY_INVITATIONS_PER_ACCOUNT = counters.Rate(limit=10, period=24 * 3600)


def _flow_subject(account_id: int, flow: str) -> str:
    return f"{account_id}:{flow}"


def flow_tries_left(*, account_id: int, flow: str, profile: Profile) -> int:
    used = counters.count("coverage_flow", _flow_subject(account_id, flow))
    return max(0, profile.coverage.max_code_attempts - used)


def wrong_codes_exceeded(*, account_id: int, ip: str) -> bool:
    return counters.exceeded(
        "coverage_wrong_account", str(account_id), WRONG_CODES_PER_ACCOUNT
    ) or bool(ip and counters.exceeded("coverage_wrong_address", ip, WRONG_CODES_PER_ADDRESS))


def wrong_code_count(*, account_id: int, flow: str, ip: str, profile: Profile) -> None:
    rate = counters.Rate(profile.coverage.max_code_attempts, FLOW_MEMORY)
    counters.hit("coverage_flow", _flow_subject(account_id, flow), rate)
    counters.hit("coverage_wrong_account", str(account_id), WRONG_CODES_PER_ACCOUNT)
    if ip:
        counters.hit("coverage_wrong_address", ip, WRONG_CODES_PER_ADDRESS)


def flow_forget(*, account_id: int, flow: str) -> None:
    counters.clear("coverage_flow", _flow_subject(account_id, flow))


def resend_allowed(*, account_id: int | None, ip: str) -> bool:
    """Counts this request; False once the account or the client address asked too often."""
    allowed = True
    if account_id is not None:
        hits = counters.hit("coverage_resend_account", str(account_id), RESENDS_PER_ACCOUNT)
        allowed = hits <= RESENDS_PER_ACCOUNT.limit
    if ip:
        hits = counters.hit("coverage_resend_address", ip, RESENDS_PER_ADDRESS)
        allowed = allowed and hits <= RESENDS_PER_ADDRESS.limit
    return allowed


def inbox_allowed(email: str) -> bool:
    return counters.hit("coverage_inbox", email, CODES_PER_INBOX) <= CODES_PER_INBOX.limit


def family_invitation_allowed(account_id: int) -> bool:
    hits = counters.hit("coverage_family", str(account_id), FAMILY_INVITATIONS_PER_ACCOUNT)
    return hits <= FAMILY_INVITATIONS_PER_ACCOUNT.limit
