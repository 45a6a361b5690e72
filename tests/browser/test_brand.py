"""Issue 17: in Chromium, under the production CSP, the profile's brand colour is the accent
of the page: its buttons, its links and the bar above the header."""

import pytest
from playwright.sync_api import Page

pytestmark = pytest.mark.browser


def accent_of(page: Page) -> dict[str, str]:
    return page.evaluate(
        """() => ({
            token: getComputedStyle(document.documentElement)
                .getPropertyValue('--colour-accent').trim(),
            button: getComputedStyle(document.querySelector('main button[type=submit]'))
                .backgroundColor,
            link: getComputedStyle(document.querySelector('.site-footer a')).color,
        })"""
    )


def test_the_profile_brand_colour_is_the_page_accent(page: Page, use_profile, db, console_errors):
    use_profile("extranet")
    page.goto("/login/")
    assert accent_of(page) == {
        "token": "#8b1e3f",
        "button": "rgb(139, 30, 63)",
        "link": "rgb(139, 30, 63)",
    }
    assert console_errors == []


def test_without_a_brand_colour_the_portal_keeps_its_blue(page: Page, db, console_errors):
    page.goto("/login/")
    assert accent_of(page)["button"] == "rgb(10, 85, 159)"
    assert console_errors == []
