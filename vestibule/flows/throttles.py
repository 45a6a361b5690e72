"""Rates for the flows: how often one address may sign up, start a recovery or ask for a link,
and how many e-mails one recipient gets. Each check reserves before the work it guards."""

from django.http import HttpRequest

from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip

RECOVERY_PER_ADDRESS = counters.Rate(limit=10, period=3600)
# E-mails of the flows (links, « already registered ») to one recipient address.
MAILS_PER_RECIPIENT = counters.Rate(limit=3, period=3600)
RESENDS_PER_ADDRESS = counters.Rate(limit=5, period=3600)
# Each sign-up costs a password hash: a clinic behind one address signs up a few members,
# a script signing up hundreds slows every member's sign-in.
SIGN_UPS_PER_ADDRESS = counters.Rate(limit=20, period=3600)
SIGN_UPS_PER_EMAIL = counters.Rate(limit=5, period=3600)


def recovery_allowed(request: HttpRequest) -> bool:
    return counters.hit("recovery", client_ip(request), RECOVERY_PER_ADDRESS) <= (
        RECOVERY_PER_ADDRESS.limit
    )


def _reserve(scope: str, subject: str, rate: counters.Rate) -> bool:
    """Count one more; a refused reservation is given back, so refusals do not pile up."""
    if counters.hit(scope, subject, rate) > rate.limit:
        counters.give_back(scope, subject)
        return False
    return True


def link_allowed(recipient: str) -> bool:
    """At most three e-mails an hour to one address from the flows: the inbox is not a target.

    Keyed on the address, not the account, so every e-mail a flow sends there (activation,
    reset, « already registered ») shares one allowance.
    """
    return _reserve("mails", recipient.strip().lower(), MAILS_PER_RECIPIENT)


def sign_up_allowed(request: HttpRequest, email: str) -> bool:
    """Reserve one sign-up for the client's address and for the e-mail typed, before the
    password is hashed; False (nothing reserved) once either is over its rate."""
    address = client_ip(request)
    if not _reserve("sign_up", address, SIGN_UPS_PER_ADDRESS):
        return False
    if not _reserve("sign_up_email", email.strip().lower(), SIGN_UPS_PER_EMAIL):
        counters.give_back("sign_up", address)
        return False
    return True


def resend_wait(request: HttpRequest, typed: str) -> int:
    """Reserve one activation resend for the client's address and for the identifier typed;
    0 when reserved, else the seconds until a new one may be asked.

    Counted on the typed identifier before any account is looked up, with the allowance of
    one recipient: an unknown identifier is refused after as many requests as a real one,
    so the refusal tells nothing of who has an account.
    """
    address = client_ip(request)
    wait = counters.reserve_or_wait("resend", address, RESENDS_PER_ADDRESS)
    if wait:
        return wait
    # The address keeps this request counted, even when the identifier's allowance is used.
    return counters.reserve_or_wait("resend_typed", typed.strip().lower(), MAILS_PER_RECIPIENT)


def reset_wait(typed: str) -> int:
    """Reserve one reset e-mail for the identifier typed in the recovery flow; 0 when
    reserved, else the seconds until a new one may be asked.

    Counted before the account is known, with the allowance of one recipient, so an unknown
    identifier is refused after as many requests as a real one.
    """
    return counters.reserve_or_wait("reset_typed", typed.strip().lower(), MAILS_PER_RECIPIENT)
