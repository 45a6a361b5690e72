"""Issue 13: members' sections sign in through Vestibule, as a browser lives it.

Two processes of the example section (examples/members_section/app.py, Authlib's Django
client), each its own client, against the live Vestibule server: « Se connecter » in the
first leads to Vestibule's French sign-in page and back; the second signs in without asking
(single sign-on); « Se déconnecter » in one signs the member out of Vestibule, and through
back-channel logout out of the other section too.
"""

import contextlib
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, make_account
from tests.load.server import free_port
from vestibule.oidc.services import section_add

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "members_section" / "app.py"


@contextlib.contextmanager
def example_section(issuer: str, name: str, log: Path) -> Iterator[str]:
    """Register a section as the operator would, run the example app for it; its address."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    application, secret = section_add(
        name=name,
        redirect_uris=[f"{base}/callback"],
        post_logout_redirect_uris=[f"{base}/"],
        backchannel_logout_uri=f"{base}/backchannel-logout",
    )
    env = {
        "ISSUER": issuer,
        "CLIENT_ID": application.client_id,
        "CLIENT_SECRET": secret,
        "PORT": str(port),
        "NAME": name,
        "PATH": "/usr/bin:/bin",
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(EXAMPLE)], env=env, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{base}/", timeout=2)
                break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def sections(live_server, portal_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    issuer = f"{live_server.url}/o"
    with (
        example_section(issuer, "Espace membres", tmp_path / "first.log") as first,
        example_section(issuer, "Formation continue", tmp_path / "second.log") as second,
    ):
        yield first, second


@pytest.fixture
def member(db):
    return make_account(code="123456")


def vestibule_pages(page: Page, portal_url: str) -> list[str]:
    """The Vestibule pages this browser tab loads from now on (paths)."""
    loaded: list[str] = []
    page.on(
        "request",
        lambda request: (
            loaded.append(request.url[len(portal_url) :])
            if request.url.startswith(portal_url) and request.is_navigation_request()
            else None
        ),
    )
    return loaded


def sign_in_to_first_section(page: Page, first: str, portal_url: str) -> None:
    page.goto(f"{first}/")
    expect(page.get_by_role("heading", name="Espace membres")).to_be_visible()
    page.get_by_role("link", name="Se connecter").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal_url)}/login/\?next=/o/authorize/"))
    # Vestibule's own sign-in page, in French.
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.get_by_label("Identifiant", exact=True).fill("marie@example.org")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    expect(page).to_have_url(f"{first}/")
    expect(page.get_by_test_id("member-name")).to_have_text("Marie Tremblay")
    expect(page.get_by_test_id("licence")).to_have_text("123456")
    expect(page.get_by_test_id("member-kind")).to_have_text("member")


def sign_in_to_second_section_without_being_asked(page: Page, second: str, portal_url: str) -> None:
    loaded = vestibule_pages(page, portal_url)
    page.goto(f"{second}/")
    expect(page.get_by_role("heading", name="Formation continue")).to_be_visible()
    page.get_by_role("link", name="Se connecter").click()
    expect(page).to_have_url(f"{second}/")
    expect(page.get_by_test_id("member-name")).to_have_text("Marie Tremblay")
    assert any(path.startswith("/o/authorize/") for path in loaded), loaded
    assert not any(path.startswith("/login/") for path in loaded), loaded


def until(page: Page, url: str, ready: Callable[[], bool], seconds: float = 15) -> bool:
    """Reload `url` until `ready()` (what another server does after a response takes time)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        page.goto(url)
        if ready():
            return True
        time.sleep(0.3)
    return False


def test_a_member_signs_in_to_a_section_then_to_a_second_one_without_being_asked(
    page: Page, member, sections, portal_url: str, console_errors: list[str]
):
    first, second = sections
    sign_in_to_first_section(page, first, portal_url)
    sign_in_to_second_section_without_being_asked(page, second, portal_url)

    page.goto(f"{first}/")
    with page.expect_navigation(url=re.compile(rf"^{re.escape(first)}/")):
        page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("link", name="Se connecter")).to_be_visible()
    # Signed out of Vestibule too: its portal asks for the password again.
    page.goto(f"{portal_url}/portal/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(portal_url)}/login/"))
    assert console_errors == []


def test_signing_out_of_one_section_signs_the_member_out_of_the_other_by_back_channel(
    page: Page, member, sections, portal_url: str
):
    first, second = sections
    sign_in_to_first_section(page, first, portal_url)
    sign_in_to_second_section_without_being_asked(page, second, portal_url)

    with page.expect_navigation(url=re.compile(rf"^{re.escape(second)}/")):
        page.get_by_role("button", name="Se déconnecter").click()
    # The first section heard of it from Vestibule (a signed logout token), not from the browser.
    signed_out = until(page, f"{first}/", lambda: page.get_by_text("Se connecter").count() > 0)
    assert signed_out, page.content()
    expect(page.get_by_test_id("member-name")).to_have_count(0)
