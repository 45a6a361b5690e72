"""The client's address, believing X-Forwarded-For only from configured proxies."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.VESTIBULE_TRUSTED_PROXIES)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """The request comes from one of VESTIBULE_TRUSTED_PROXIES (its X-Forwarded-* count)."""
    return _trusted(request.META.get("REMOTE_ADDR", ""))


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the first untrusted hop of X-Forwarded-For read from the right."""
    remote = request.META.get("REMOTE_ADDR", "") or "0.0.0.0"  # noqa: S104 (a value, not a bind)
    if not _trusted(remote):
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    # Read right to left: the rightmost hops were added by our own proxies; the first one
    # that is not a trusted proxy is the client. Anything left of it could be forged.
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote
    return remote
