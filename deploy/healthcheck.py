"""Is this node's `vestibule serve` answering? Exit 0 if yes, 1 if not (container HEALTHCHECK).

    python healthcheck.py [BASE_URL]      (default http://127.0.0.1:8000)

It fetches a static file, which WhiteNoise answers before sessions, the database and Redis:
a node is taken out of the pool when its server is gone, not when a shared service is (every
node would fail together, and members would get the proxy's error instead of the portal's
503 page). The path is exempt from production's redirect to https (SECURE_REDIRECT_EXEMPT):
this check comes from the node's own loopback, which may not claim https. Caddyfile's health
check asks for the same path.
"""

import sys
import urllib.error
import urllib.request

PATH = "/static/vestibule/site.css"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect means the node did not serve the file: unhealthy


def healthy(base: str) -> bool:
    url = base.rstrip("/") + PATH
    if not url.startswith(("http://", "https://")):
        return False
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=4) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


if __name__ == "__main__":
    sys.exit(0 if healthy(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000") else 1)
