"""Playwright (sync API) driving Debian's Chromium against pytest-django's live server."""

import os
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

# Playwright's sync API keeps an asyncio loop running in the main thread for the rest of the
# session, and Django refuses ORM calls from a thread with a running loop. Our ORM calls there
# (factories, the live server's database flush, every later test of the same run) are plain
# synchronous code the loop never touches, so Django's guard would only raise a false alarm.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        reason = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run on CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield chromium
    chromium.close()


@pytest.fixture
def portal_url(live_server, settings) -> str:
    """The live server's address, also written into the links the portal e-mails."""
    settings.VESTIBULE_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors (CSP violations among them) and uncaught exceptions of every page."""
    return []


@pytest.fixture
def new_page(
    browser: Browser, portal_url: str, console_errors: list[str]
) -> Iterator[Callable[[], Page]]:
    """new_page() opens a page in a fresh browser context: no cookie shared with the others."""
    contexts = []

    def record(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # Chromium asks for /favicon.ico on its own, now and then; the portal has none (reported).
        if message.type == "error" and not url.endswith("/favicon.ico"):
            console_errors.append(f"{message.text} ({url})")

    def open_page() -> Page:
        context = browser.new_context(base_url=portal_url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", record)
        page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    return new_page()
