"""How often access codes may be tried and asked for: per account, per client address, per inbox.

A claim "flow" is one series of tries (Ory Kratos ends a flow after a few wrong codes): the
page keeps its id in the session, and a new code starts a new one. The per-account and
per-address counts bound what starting new flows (or new sessions) could add. A try is
reserved on all three before its code is compared (code_try_reserve).
"""

import dataclasses

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


@dataclasses.dataclass(frozen=True)
class CodeTry:
    """One code typed in claim `flow` by an account from a client address ("" if none)."""

    account_id: int
    flow: str
    ip: str


def _code_try_counts(
    code_try: CodeTry, profile: Profile
) -> list[tuple[str, str, counters.Rate, str]]:
    """(scope, subject, rate, refusal) of every count a try is reserved on, in that order."""
    counts = [
        (
            "coverage_flow",
            _flow_subject(code_try.account_id, code_try.flow),
            counters.Rate(profile.coverage.max_code_attempts, FLOW_MEMORY),
            "flow_ended",
        ),
        ("coverage_wrong_account", str(code_try.account_id), WRONG_CODES_PER_ACCOUNT, "throttled"),
    ]
    if code_try.ip:
        counts.append(("coverage_wrong_address", code_try.ip, WRONG_CODES_PER_ADDRESS, "throttled"))
    return counts


def code_try_reserve(code_try: CodeTry, *, profile: Profile) -> str:
    """Count the try on the claim, the account and the address before its code is looked at.

    Returns "" when it may be looked at, else the refusal ("flow_ended", "throttled"), with
    nothing kept: a refused try compared no code. Counted first and checked after, in one
    atomic increment each, so that parallel tries cannot all pass a check made before any
    of them is counted (each gets its own count, and only those within the limit go on).
    """
    reserved: list[tuple[str, str]] = []
    for scope, subject, rate, refusal in _code_try_counts(code_try, profile):
        reserved.append((scope, subject))
        if counters.hit(scope, subject, rate) > rate.limit:
            for held_scope, held_subject in reserved:
                counters.give_back(held_scope, held_subject)
            return refusal
    return ""


def code_try_give_back(code_try: CodeTry, *, profile: Profile) -> None:
    """A reserved try whose code was no wrong code (it linked, or was right but refused for
    another reason) counts against nothing."""
    for scope, subject, _rate, _refusal in _code_try_counts(code_try, profile):
        counters.give_back(scope, subject)


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


def inbox_wait(email: str) -> int:
    """Reserve one code request for the typed address, invited or not: 0 when reserved, else
    the seconds until it may ask again (the same refusal whether or not it was invited)."""
    return counters.reserve_or_wait("coverage_inbox_typed", email, CODES_PER_INBOX)


def inbox_allowed(email: str) -> bool:
    return counters.hit("coverage_inbox", email, CODES_PER_INBOX) <= CODES_PER_INBOX.limit


def family_invitation_allowed(account_id: int) -> bool:
    hits = counters.hit("coverage_family", str(account_id), FAMILY_INVITATIONS_PER_ACCOUNT)
    return hits <= FAMILY_INVITATIONS_PER_ACCOUNT.limit
