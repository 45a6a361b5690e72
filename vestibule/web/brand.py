"""The profile's brand colour as a stylesheet of one token.

The CSP allows styles from this site only (no inline style, no nonce), so the colour comes
as a file like site.css: base.html links it with the colour in its query string, which lets
browsers keep it for good and ask again when the profile's colour changes.
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from vestibule.config import get_profile


@require_GET
def brand_css(request: HttpRequest) -> HttpResponse:
    # The colour was checked against #rrggbb at start-up: nothing else reaches the CSS.
    colour = get_profile().brand.colour
    css = f":root {{ --colour-accent: {colour}; }}\n" if colour else ""
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
