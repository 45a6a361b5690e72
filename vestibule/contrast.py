"""WCAG contrast: the one formula the start-up check of a brand colour and the tests share."""

import re

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# WCAG 2.2: 4.5:1 for text (AA), 7:1 for text (AAA), 3:1 for borders and focus rings (1.4.11).
TEXT_AA = 4.5
TEXT_AAA = 7.0
NON_TEXT = 3.0

# The light backgrounds a link or a button's border sits on: site.css's tokens of the same
# name (tests/web/test_design_tokens.py keeps the two in step).
BACKGROUNDS = {
    "--colour-surface": "#ffffff",
    "--colour-page": "#f6f8fa",
    "--colour-error-bg": "#fdf2f3",
    "--colour-success-bg": "#eef7f0",
}
# The text written on the accent colour (buttons).
ACCENT_TEXT = "#ffffff"
# site.css's --colour-accent: the buttons' colour of a profile that sets no [brand] colour.
PORTAL_ACCENT = "#0a559f"


def relative_luminance(colour: str) -> float:
    """WCAG 2.2's relative luminance of a `#rrggbb` colour, from 0 (black) to 1 (white)."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    """From 1 (same colour) to 21 (black on white); order does not matter."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def accent_contrast(colour: str) -> float:
    """The lowest contrast of an accent colour where the portal uses it: under white button
    text, and as link text or border on each light background."""
    return min(contrast_ratio(colour, other) for other in (ACCENT_TEXT, *BACKGROUNDS.values()))
