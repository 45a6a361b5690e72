"""What the browser journeys share: field errors as a reader finds them, e-mailed links, shots."""

import re
from pathlib import Path

from playwright.sync_api import Locator, Page

SHOTS = Path("/tmp/vestibule-shots")
RESUME_LINK = re.compile(r"https?://\S+/flow/[\w-]+/resume/[\w-]+/")


def field_error(page: Page, label: str) -> Locator:
    """The error shown for the field labelled `label`: tied to it and placed right under it."""
    field = page.get_by_label(label, exact=True)
    described_by = (field.get_attribute("aria-describedby") or "").split()
    error_ids = [name for name in described_by if name.endswith("_errors")]
    assert error_ids, f"the field {label!r} is described by no error ({described_by})"
    error = page.locator(f"#{error_ids[0]}")
    field_box, error_box = field.bounding_box(), error.bounding_box()
    assert field_box and error_box, f"the field {label!r} or its error is not displayed"
    gap = error_box["y"] - (field_box["y"] + field_box["height"])
    assert 0 <= gap < 24, f"the error of {label!r} is {gap:.0f}px from its field"
    assert abs(error_box["x"] - field_box["x"]) < 4, f"the error of {label!r} is not aligned"
    return error


def submit(page: Page, button: str) -> None:
    """Click the form's `button` and wait for the page the server answers with."""
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def resume_link(mail_text: str) -> str:
    """The activation or reset link of an e-mail's plain-text body."""
    found = RESUME_LINK.search(mail_text)
    assert found, f"no link in the e-mail:\n{mail_text}"
    return found.group(0)


def screenshot(page: Page, name: str) -> None:
    """What the visitor sees (<name>.png) and the whole page without the cookie notice."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png")
    # Hidden through the DOM: an injected <style> would be refused by the page's CSP.
    notice = page.locator(".cookie-notice")
    notice.evaluate_all("nodes => nodes.forEach((node) => { node.hidden = true; })")
    page.screenshot(path=SHOTS / f"{name}-full.png", full_page=True)
    notice.evaluate_all("nodes => nodes.forEach((node) => { node.hidden = false; })")
