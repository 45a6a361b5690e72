"""Issue 17: the colour tokens of site.css keep the contrast of every pair the pages use, with
the WCAG formula; a later change that lowers one fails here."""

import re
from pathlib import Path

import pytest

import vestibule
from vestibule.config import PROFILES_DIR, load_profile
from vestibule.contrast import (
    ACCENT_TEXT,
    BACKGROUNDS,
    NON_TEXT,
    TEXT_AA,
    TEXT_AAA,
    accent_contrast,
    contrast_ratio,
)

SITE_CSS = Path(vestibule.__file__).parent / "web" / "static" / "vestibule" / "site.css"


def tokens() -> dict[str, str]:
    """The `--name: #rrggbb;` custom properties of the stylesheet's first :root block."""
    root = re.search(r":root\s*\{(.*?)\n\}", SITE_CSS.read_text(), re.DOTALL)
    assert root, "site.css starts with no :root block of tokens"
    return {
        name: value.lower()
        for name, value in re.findall(r"(--[\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", root.group(1))
    }


# (foreground, background, minimum): each pair a page shows.
PAIRS = [
    # Body text, 7:1 (AAA) on every background it sits on.
    ("--colour-text", "--colour-surface", TEXT_AAA),
    ("--colour-text", "--colour-page", TEXT_AAA),
    ("--colour-text", "--colour-error-bg", TEXT_AAA),
    ("--colour-text", "--colour-success-bg", TEXT_AAA),
    # Links and secondary buttons on white and on the page's grey (footer), 7:1.
    ("--colour-accent", "--colour-surface", TEXT_AAA),
    ("--colour-accent", "--colour-page", TEXT_AAA),
    # Links inside an error or success notice.
    ("--colour-accent", "--colour-error-bg", TEXT_AA),
    ("--colour-accent", "--colour-success-bg", TEXT_AA),
    # Button text on the accent, 7:1.
    ("--colour-accent-text", "--colour-accent", TEXT_AAA),
    # Help text, table-as-list labels, the footer, placeholders.
    ("--colour-text-muted", "--colour-surface", TEXT_AA),
    ("--colour-text-muted", "--colour-page", TEXT_AA),
    # Field errors and the error summary's links, on white and in an error notice.
    ("--colour-error", "--colour-surface", TEXT_AA),
    ("--colour-error", "--colour-error-bg", TEXT_AA),
    # Borders that say something (WCAG 1.4.11): fields, invalid fields, notice bars.
    ("--colour-input-border", "--colour-surface", NON_TEXT),
    ("--colour-error", "--colour-surface", NON_TEXT),
    ("--colour-success", "--colour-success-bg", NON_TEXT),
    # The focus ring, on every background it can sit on.
    ("--colour-focus", "--colour-surface", NON_TEXT),
    ("--colour-focus", "--colour-page", NON_TEXT),
    ("--colour-focus", "--colour-error-bg", NON_TEXT),
    ("--colour-focus", "--colour-success-bg", NON_TEXT),
]


@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_each_colour_pair_the_pages_use_keeps_its_contrast(foreground, background, minimum):
    colours = tokens()
    ratio = contrast_ratio(colours[foreground], colours[background])
    assert ratio >= minimum, f"{foreground} on {background}: {ratio:.2f}:1, under {minimum}:1"


def test_the_focus_ring_is_the_near_black_token():
    css = SITE_CSS.read_text()
    assert "--focus-ring: 3px solid var(--colour-focus);" in css
    assert re.search(r":focus-visible[^{]*\{\s*outline: var\(--focus-ring\)", css)


def test_the_start_up_check_knows_the_stylesheet_backgrounds():
    colours = tokens()
    assert {name: colours[name] for name in BACKGROUNDS} == BACKGROUNDS
    assert colours["--colour-accent-text"] == ACCENT_TEXT


def test_the_portal_blue_would_pass_its_own_brand_check():
    assert accent_contrast(tokens()["--colour-accent"]) >= TEXT_AA


@pytest.mark.parametrize("name", sorted(p.stem for p in PROFILES_DIR.glob("*.toml")))
def test_the_built_in_brand_colours_reach_seven_to_one(name):
    colour = load_profile(name).brand.colour or tokens()["--colour-accent"]
    assert contrast_ratio(colour, ACCENT_TEXT) >= TEXT_AAA
    assert contrast_ratio(colour, BACKGROUNDS["--colour-page"]) >= TEXT_AAA
