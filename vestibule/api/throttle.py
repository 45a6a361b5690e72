"""Each API client's rate limit: `rate_per_minute` requests in each clock minute, counted
on the shared throttle counters (Redis when configured, so every web node counts together).

The count is one atomic increment per request: parallel requests can never all slip under
the limit, and a refused request counts too (a client hammering stays refused).
"""

import time

from vestibule.api.models import ApiClient
from vestibule.api.problems import Problem
from vestibule.throttle.counters import Rate, hit

SCOPE = "api-client"
WINDOW = 60  # seconds


def api_request_count(client: ApiClient, *, now: float | None = None) -> None:
    """Count one request of `client`; a 429 problem with Retry-After when over its rate."""
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    count = hit(SCOPE, f"{client.pk}:{window}", Rate(limit=client.rate_per_minute, period=WINDOW))
    if count > client.rate_per_minute:
        wait = max(1, int((window + 1) * WINDOW - now))
        raise Problem(
            "rate-limited",
            f"This client may send {client.rate_per_minute} requests a minute; "
            f"retry in {wait} seconds.",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
