"""OWASP ASVS rows that had no test: password fields as browsers and password managers need
them, no password expiry, no default account, session keys, no set-password in the admin."""

import os
import re
import sqlite3
import subprocess
import time
from collections import deque
from datetime import timedelta
from html.parser import HTMLParser
from importlib import import_module

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tests.establishments.helpers import hotel, invitation_link, member_of
from tests.factories import PASSWORD, make_account
from tests.flows.walk import answer, last_link, start
from tests.load.server import BIN
from vestibule.config import load_profile
from vestibule.establishments.invitations import invitation_send
from vestibule.establishments.models import Membership

pytestmark = pytest.mark.django_db
PROFILES = ["default", "community", "dentists", "physicians", "extranet", "telehealth"]
PASSWORD_AUTOCOMPLETE = {"current-password", "new-password"}
# Pages a GET must not reach while crawling: they act, or they are not the members' pages.
NOT_CRAWLED = re.compile(r"^/(admin|dev|static)/|/asset/|/logout/|/resume/")


class Page(HTMLParser):
    """The forms, inputs, links and event-handler attributes of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str]] = []
        self.forms: list[dict[str, str]] = []
        self.links: list[str] = []
        self.handlers: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = {name: value or "" for name, value in attrs}
        self.handlers += [f"<{tag} {name}>" for name in named if name.startswith("on")]
        if tag == "input":
            self.inputs.append(named)
        elif tag == "form":
            self.forms.append(named)
        elif tag == "a" and named.get("href", "").startswith("/"):
            self.links.append(named["href"].split("#")[0])
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def password_faults(url: str, html: str) -> list[str]:
    """What keeps a password manager or a paste from working on this page."""
    page = parse(html)
    faults = [f"{url}: {handler}" for handler in page.handlers]
    faults += [f"{url}: script mentions paste" for s in page.scripts if "paste" in s.lower()]
    faults += [f"{url}: <form autocomplete=off>" for f in page.forms if f.get("autocomplete")]
    for field in page.inputs:
        if "password" not in field.get("name", "") and field.get("type") != "password":
            continue
        if field.get("type") != "password":
            faults.append(f"{url}: {field.get('name')} is type={field.get('type')}")
        if field.get("autocomplete") not in PASSWORD_AUTOCOMPLETE:
            faults.append(f"{url}: {field.get('name')} autocomplete={field.get('autocomplete')}")
    return faults


def crawl(client: Client, seeds: list[str], limit: int = 80) -> dict[str, str]:
    """The HTML pages a visitor reaches from `seeds` by following the site's links."""
    pages: dict[str, str] = {}
    queue, seen = deque(seeds), set(seeds)
    while queue and len(pages) < limit:
        url = queue.popleft()
        response = client.get(url, follow=True)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        pages[url] = html
        for link in parse(html).links:
            if link not in seen and not NOT_CRAWLED.search(link):
                seen.add(link)
                queue.append(link)
    return pages


def has_password_field(html: str) -> bool:
    return any(field.get("type") == "password" for field in parse(html).inputs)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_form_page_lets_password_managers_and_pasting_work(use_profile, profile):
    use_profile(profile)
    flows = load_profile(profile).flows
    kind = load_profile(profile).member_kinds[0].key
    account = make_account(email="marie@example.org", kind=kind, code="12345")
    if rights := [right.key for right in load_profile(profile).access_rights]:
        Membership.objects.create(account=account, establishment=hotel(), rights=rights)
    seeds = ["/", "/login/", "/login/forgotten-identifier/", "/help/", "/flow/activation/resend/"]
    pages = crawl(Client(), seeds + [f"/flow/{name}/start/" for name in flows])
    member = Client()
    member.force_login(account)
    pages |= {
        f"signed in {url}": html
        for url, html in crawl(
            member, ["/portal/", "/account/", "/account/password/", "/account/security-questions/"]
        ).items()
    }
    faults = [fault for url, html in pages.items() for fault in password_faults(url, html)]
    assert faults == []
    with_passwords = {url for url, html in pages.items() if has_password_field(html)}
    assert {"/login/", "signed in /account/password/"} <= with_passwords
    if "registration" in flows:
        assert "/flow/registration/start/" in with_passwords


def test_the_pages_reached_by_e_mailed_links_let_password_managers_work():
    """The new password of a reset, and the password of an invited user (seed 001)."""
    make_account(email="marie@example.org")
    client = Client()
    start(client, "recovery")
    answer(client, "recovery", identifier="marie@example.org")
    reset = client.get(last_link("marie@example.org", "password_reset"), follow=True)
    place = hotel()
    owner = member_of(place, "owner@hotel.example", ["users"])
    invitation_send(
        establishment=place, email="lea@hotel.example", rights=[], inviter=owner.account
    )
    invited = Client().get(invitation_link("lea@hotel.example"), follow=True)
    for page in (reset, invited):
        html = page.content.decode()
        assert has_password_field(html)
        assert password_faults(page.request["PATH_INFO"], html) == []


def test_a_password_never_expires(monkeypatch):
    """Two years after the password was set, the member signs in and is sent to the portal,
    not to a password change (ASVS: no periodic rotation)."""
    make_account(email="marie@example.org")
    real_now, real_time = timezone.now, time.time
    monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(days=730))
    monkeypatch.setattr(time, "time", lambda: real_time() + 730 * 24 * 3600)
    client = Client()
    signed_in = client.post("/login/", {"identifier": "marie@example.org", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/portal/"
    portal = client.get("/portal/")
    assert portal.status_code == 200 and not has_password_field(portal.content.decode())


def test_migrate_creates_no_account(tmp_path):
    """A fresh database after `vestibule migrate` holds no account, default or otherwise."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {"VESTIBULE_VAR_DIR": str(tmp_path), "VESTIBULE_PROFILE": "default"}
    env["DJANGO_SETTINGS_MODULE"] = "vestibule.settings"
    subprocess.run([BIN / "vestibule", "migrate", "-v", "0"], env=env, check=True)
    bookkeeping = {"django_migrations", "sqlite_sequence", "django_content_type", "auth_permission"}
    with sqlite3.connect(tmp_path / "vestibule-default.sqlite3") as database:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = [row[0] for row in database.execute(query)]
        assert "accounts_account" in tables
        filled = {
            table
            for table in tables
            if database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        }
    assert filled <= bookkeeping


def test_session_keys_are_unique_long_and_drawn_from_a_large_alphabet():
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = []
    for _ in range(10_000):
        session = store()
        session.create()
        keys.append(session.session_key)
    assert len(set(keys)) == 10_000
    assert min(len(key) for key in keys) >= 32
    assert len(set("".join(keys))) >= 36  # ≥ 32 × log2(36) ≈ 165 bits per key


def test_the_admin_offers_no_way_to_set_an_account_password():
    admin = Client()
    admin.force_login(make_account(email="admin@example.org", is_staff=True, is_superuser=True))
    member = make_account(email="marie@example.org")
    url = f"/admin/accounts/account/{member.pk}/password/"
    assert admin.get(url).status_code in {302, 403, 404}
    followed = admin.get(url, follow=True)
    assert not has_password_field(followed.content.decode())
    assert admin.post(url, {"password1": "x" * 20, "password2": "x" * 20}).status_code in {
        302,
        403,
        404,
    }
    member.refresh_from_db()
    assert member.check_password(PASSWORD)
    change = admin.get(f"/admin/accounts/account/{member.pk}/change/").content.decode()
    assert f"/admin/accounts/account/{member.pk}/password" not in change
    assert not has_password_field(change)


def test_the_admin_shows_no_password_hash_and_sends_staff_to_the_member_password_page(
    admin_client, admin_user
):
    page = admin_client.get(f"/admin/accounts/account/{admin_user.pk}/change/")
    assert page.status_code == 200
    assert "argon2" not in page.content.decode()
    response = admin_client.get("/admin/password_change/")
    assert response.status_code == 302 and response["Location"] == "/account/password/"
