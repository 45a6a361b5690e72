"""Issue 12, item 4: nobody with admin or database read access obtains a live secret.

After each flow that e-mails a secret (activation link, reset link, invitation link, access
code) the secret is searched for in every row of every table (raw SQL), in the admin's
outbox pages, and in the access and error logs of a real `vestibule serve`. It must be in
none of them, before the message is sent (bodies sealed) nor after (bodies wiped), while
the member still receives it intact.
"""

import asyncio
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.cookiejar import CookieJar

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.test import Client

from tests.coverage.helpers import make_record, send_code
from tests.establishments.helpers import ALL, hotel, member_of
from tests.factories import make_account
from tests.flows.walk import answer, start
from tests.load.server import BIN, free_port, portal_env
from vestibule.notifications.models import Message
from vestibule.notifications.services import MAX_ATTEMPTS, message_enqueue, messages_send
from vestibule.web.log_redaction import secrets_redact

pytestmark = pytest.mark.django_db

KEY = re.compile(r"/(?:resume|invitations)/([\w-]{20,})/")


def _as_text(value: object) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def tables_holding(secrets: list[str]) -> list[str]:
    """Every table with a row that holds one of `secrets`, read with raw SQL."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                if any(secret in _as_text(value) for value in row for secret in secrets):
                    found.append(table)
                    break
    return found


def activation(use_profile) -> tuple[str, list[str]]:
    use_profile("community")
    browser = Client()
    start(browser, "registration")
    answer(
        browser,
        "registration",
        email="camille@example.org",
        password="nouveau-passe-9",
        password_confirm="nouveau-passe-9",
    )
    return "camille@example.org", [_key_in("camille@example.org", "activation")]


def reset(use_profile) -> tuple[str, list[str]]:
    use_profile("community")
    make_account(email="member@example.org")
    browser = Client()
    start(browser, "recovery")
    answer(browser, "recovery", identifier="member@example.org")
    return "member@example.org", [_key_in("member@example.org", "password_reset")]


def invitation(use_profile) -> tuple[str, list[str]]:
    use_profile("extranet")
    owner = member_of(hotel(), "admin@hotel.example", ALL, first_name="Louise", last_name="Morin")
    browser = Client()
    browser.force_login(owner.account)
    browser.post(
        "/establishments/users/add/new/",
        {
            "rights_step": "1",
            "first_name": "Léa",
            "last_name": "Roy",
            "email": "lea@hotel.example",
            "rights": ["messages"],
        },
    )
    return "lea@hotel.example", [_key_in("lea@hotel.example", "invitation")]


def access_code(use_profile) -> tuple[str, list[str]]:
    use_profile("telehealth")
    code = send_code(make_record())
    return "olivier@example.org", [code, code.replace("-", "")]


def _key_in(to: str, template: str) -> str:
    """The key of the newest `template` mail to `to`, opened the way the sender opens it."""
    message = Message.objects.filter(to=to, template__startswith=template).latest("id")
    return KEY.search(message.text()).group(1)


FLOWS: dict[str, Callable[..., tuple[str, list[str]]]] = {
    "activation": activation,
    "reset": reset,
    "invitation": invitation,
    "access_code": access_code,
}


@pytest.fixture
def superuser_client() -> Client:
    staff = make_account(email="root@example.org", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


def admin_pages(client: Client, message: Message) -> str:
    pages = [
        "/admin/notifications/message/",
        f"/admin/notifications/message/{message.pk}/change/",
        f"/admin/notifications/message/{message.pk}/history/",
    ]
    return "".join(client.get(page).content.decode() for page in pages)


@pytest.mark.parametrize("flow", list(FLOWS))
def test_no_live_secret_in_the_database_or_the_admin_before_or_after_sending(
    flow, use_profile, superuser_client, inbox
):
    to, secrets = FLOWS[flow](use_profile)
    message = Message.objects.filter(to=to).latest("id")
    assert message.state == Message.State.READY
    # Waiting in the outbox: sealed.
    assert tables_holding(secrets) == []
    page = admin_pages(superuser_client, message)
    assert to in page and not any(secret in page for secret in secrets)

    assert messages_send() == (1, 0)
    received = inbox.wait_for(to)[-1]
    assert secrets[0] in received.get_body(preferencelist=("plain",)).get_content()
    # Sent: wiped; the record of who, what and when stays.
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert (message.sealed_text, message.sealed_html) == ("", "")
    assert message.subject and message.template and message.sent_at
    assert tables_holding(secrets) == []
    page = admin_pages(superuser_client, message)
    assert to in page and not any(secret in page for secret in secrets)


def test_the_admin_change_page_has_no_body_field(superuser_client, use_profile):
    reset(use_profile)
    message = Message.objects.get(template="password_reset")
    page = superuser_client.get(f"/admin/notifications/message/{message.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "sealed_text" not in html and "sealed_html" not in html
    assert message.sealed_text not in html


def _enqueue_reset(to: str = "member@example.org", key: str = "K" * 43) -> Message:
    account = make_account(email=to)
    return message_enqueue(
        template="password_reset",
        to=to,
        language="fr",
        context={
            "account": account,
            "link_path": f"/flow/recovery/resume/{key}/",
            "lifetime_hours": 1,
        },
    )


def test_mail_sealed_before_a_key_rotation_is_still_sent(settings, inbox):
    key = "RotatedKeyRotatedKeyRotatedKeyRotatedKey123"
    message = _enqueue_reset(key=key)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a brand new secret key for this test, long enough to be one"
    assert messages_send() == (1, 0)
    assert key in inbox.text(inbox.wait_for("member@example.org")[0])
    message.refresh_from_db()
    assert message.state == Message.State.SENT and message.sealed_text == ""


def test_mail_sealed_with_a_key_no_longer_configured_is_given_up_and_the_rest_goes(settings, inbox):
    lost = _enqueue_reset("lost@example.org")
    settings.SECRET_KEY = "a brand new secret key for this test, long enough to be one"
    settings.SECRET_KEY_FALLBACKS = []
    kept = _enqueue_reset("kept@example.org")
    assert messages_send() == (1, 1)
    assert inbox.wait_for("kept@example.org")
    lost.refresh_from_db()
    kept.refresh_from_db()
    assert (lost.state, lost.sealed_text, lost.sealed_html) == (Message.State.FAILED, "", "")
    assert "SECRET_KEY_FALLBACKS" in lost.last_error
    assert kept.state == Message.State.SENT


class Refusing:
    """An SMTP peer that refuses every recipient for good (550)."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        await asyncio.sleep(0)
        return "550 5.1.1 no such user"


@pytest.fixture
def refusing_smtp(settings) -> Iterator[None]:
    controller = Controller(Refusing(), hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_PORT = controller.port
    yield
    controller.stop()


def test_a_message_given_up_keeps_no_body_and_cannot_be_sent_again_empty(
    refusing_smtp, superuser_client
):
    message = _enqueue_reset()
    Message.objects.filter(pk=message.pk).update(attempts=MAX_ATTEMPTS - 1)
    assert messages_send() == (0, 1)
    message.refresh_from_db()
    assert (message.state, message.sealed_text, message.sealed_html) == (
        Message.State.FAILED,
        "",
        "",
    )
    superuser_client.post(
        "/admin/notifications/message/", {"action": "retry_now", "_selected_action": [message.pk]}
    )
    message.refresh_from_db()
    assert message.state == Message.State.FAILED


def test_the_development_mail_page_shows_the_link_after_the_outbox_wiped_it(
    settings, tmp_path, use_profile
):
    settings.EMAIL_BACKEND = "vestibule.notifications.dev_mail.DevelopmentBackend"
    settings.VAR_DIR = tmp_path
    _, [key] = reset(use_profile)
    assert messages_send() == (1, 0)
    assert Message.objects.get(template="password_reset").sealed_text == ""
    browser = Client()
    listing = browser.get("/dev/mail/").content.decode()
    detail = re.search(r'href="(/dev/mail/\d+/)"', listing).group(1)
    assert key in browser.get(detail).content.decode()
    assert [path.stat().st_mode & 0o777 for path in (tmp_path / "dev-mail").iterdir()] == [0o600]


def test_the_development_backend_refuses_to_run_in_production(settings):
    from django.core.exceptions import ImproperlyConfigured

    from vestibule.notifications.dev_mail import DevelopmentBackend

    settings.PRODUCTION = True
    with pytest.raises(ImproperlyConfigured):
        DevelopmentBackend()


@pytest.mark.parametrize(
    "line",
    [
        '"GET /flow/recovery/resume/{key}/ HTTP/1.1" 302',
        "Not Found: /flow/registration/resume/{key}/",
        '"GET /establishments/invitations/{key}/ HTTP/1.1" 200',
        "next=%2Fflow%2Frecovery%2Fresume%2F{key}%2F",
        "/somewhere/new/{key}/",
    ],
)
def test_keys_in_logged_paths_are_redacted(line):
    key = "Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3_-Ab3"
    redacted = secrets_redact(line.format(key=key))
    assert key not in redacted and "[redacted]" in redacted


def test_logged_paths_without_keys_are_left_alone():
    line = '"POST /establishments/invitations/12/revoke/ HTTP/1.1" 302'
    assert secrets_redact(line) == line


# A real `vestibule serve`: its access log (stdout) and error log (stderr) after a reset.


def _http(opener, url: str, data: dict[str, str] | None = None, referer: str = "") -> str:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Referer": referer or url})
    try:
        return opener.open(request, timeout=10).read().decode()
    except urllib.error.HTTPError as error:  # 404 and 410 pages are pages too
        return error.read().decode()


def test_a_served_portal_logs_no_reset_key(tmp_path, smtp_peer, inbox):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = portal_env(
        tmp_path,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_peer.port),
        VESTIBULE_BASE_URL=base,
    )
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    with access.open("wb") as out, errors.open("wb") as err:
        server = subprocess.Popen(
            [BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=out,
            stderr=err,
        )
        try:
            key = _reset_over_http(base, inbox)
        finally:
            server.terminate()
            server.wait(10)
    logged = access.read_text() + errors.read_text()
    assert "/flow/recovery/resume/[redacted]/" in access.read_text()
    assert key not in logged
    assert "Z" * 43 not in logged  # an unknown key, answered 404 and logged as Not Found
    with sqlite3.connect(tmp_path / "vestibule-default.sqlite3") as database:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        tables = [row[0] for row in database.execute(query)]
        for table in tables:
            rows = database.execute(f'SELECT * FROM "{table}"').fetchall()
            assert not any(key in _as_text(value) for row in rows for value in row), table


def _reset_over_http(base: str, inbox) -> str:
    """Ask a reset for marie@example.org, open the e-mailed link and an unknown one."""
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/help/", timeout=10)
            break
        # Not listening yet (URLError), or too slow to answer a first page on a busy machine
        # (TimeoutError): both are OSErrors.
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = _http(browser, f"{base}/flow/recovery/start/")
    fields = dict(
        re.findall(r'name="(csrfmiddlewaretoken|flow_id|stage_index)" value="([^"]*)"', page)
    )
    _http(browser, f"{base}/flow/recovery/", {**fields, "identifier": "marie@example.org"}, base)
    [mail] = inbox.wait_for("marie@example.org")
    key = KEY.search(inbox.text(mail)).group(1)
    other = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    _http(other, f"{base}/flow/recovery/resume/{key}/")
    _http(other, f"{base}/flow/recovery/resume/{'Z' * 43}/")
    return key
