"""Rates for the flows: how often one address may start a recovery or ask for a link."""

from django.http import HttpRequest

from vestibule.throttle import counters
from vestibule.throttle.addresses import client_ip

RECOVERY_PER_ADDRESS = counters.Rate(limit=10, period=3600)
LINKS_PER_ACCOUNT = counters.Rate(limit=3, period=3600)
RESENDS_PER_ADDRESS = counters.Rate(limit=5, period=3600)


def recovery_allowed(request: HttpRequest) -> bool:
    return counters.hit("recovery", client_ip(request), RECOVERY_PER_ADDRESS) <= (
        RECOVERY_PER_ADDRESS.limit
    )


def link_allowed(account_id: int) -> bool:
    """At most three e-mailed links an hour per account: the inbox is not a target."""
    return counters.hit("links", str(account_id), LINKS_PER_ACCOUNT) <= LINKS_PER_ACCOUNT.limit


def resend_allowed(request: HttpRequest) -> bool:
    return counters.hit("resend", client_ip(request), RESENDS_PER_ADDRESS) <= (
        RESENDS_PER_ADDRESS.limit
    )
