"""Each API client's rate limit: `rate_per_minute` requests in a minute, counted on the
shared throttle counters (Redis when configured, so every web node counts together).

The minute starts at the client's first request (the counter expires 60 s later); the
count is one atomic increment per request, so parallel requests can never all slip under
the limit, and a refused request counts too (a client hammering stays refused).
"""

import time

from django.core.cache import cache

from vestibule.api.models import ApiClient
from vestibule.api.problems import Problem
from vestibule.throttle.counters import Rate, hit

SCOPE = "api-client"
WINDOW = 60  # seconds


def api_request_count(client: ApiClient) -> None:
    """Count one request of `client`; a 429 problem with Retry-After when over its rate."""
    now = time.time()
    # When this window began, for Retry-After (kept beside the counter, as long as it).
    cache.add(f"{SCOPE}:started:{client.pk}", now, timeout=WINDOW)
    count = hit(SCOPE, str(client.pk), Rate(limit=client.rate_per_minute, period=WINDOW))
    if count > client.rate_per_minute:
        started = cache.get(f"{SCOPE}:started:{client.pk}") or now
        wait = min(WINDOW, max(1, round(started + WINDOW - now)))
        raise Problem(
            "rate-limited",
            f"This client may send {client.rate_per_minute} requests a minute; "
            f"retry in {wait} seconds.",
            headers={"Retry-After": str(wait)},
            retry_after=wait,
        )
