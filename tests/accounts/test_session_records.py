"""Session records: written at sign-in, touched while used, gone at sign-out; ending one
deletes the session from whichever store holds it (database or cache)."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account
from vestibule.accounts.middleware import SEEN_AT
from vestibule.accounts.models import Account, SessionRecord
from vestibule.accounts.session_records import (
    browser_label,
    key_digest,
    session_end,
    session_records_of,
    session_records_purge,
)
from vestibule.accounts.sessions import sessions_end_everywhere
from vestibule.audit.models import Event
from vestibule.notifications.sealing import body_unseal

pytestmark = pytest.mark.django_db
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
ENGINES = ["vestibule.accounts.session_engines.db", "vestibule.accounts.session_engines.cache"]


def browser(user_agent: str = FIREFOX, address: str = "203.0.113.7") -> Client:
    return Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=address)


def sign_in(client: Client, email: str = "marie@example.org") -> Client:
    response = client.post("/login/", {"identifier": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def cookie(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def replayed(session_key: str) -> Client:
    """A browser that sends an old cookie again (a copied cookie, a stolen one)."""
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = session_key
    return client


def signed_in(client: Client) -> bool:
    return client.get("/account/").status_code == 200


def store_has(session_key: str) -> bool:
    return import_module(django_settings.SESSION_ENGINE).SessionStore().exists(session_key)


def record_of(client: Client) -> SessionRecord:
    return SessionRecord.objects.get(key_digest=key_digest(cookie(client)))


@pytest.fixture
def account():
    return make_account()


def test_sign_in_records_the_browser_and_address_with_the_key_sealed(account):
    client = sign_in(browser())
    record = record_of(client)
    assert record.account == account
    assert record.user_agent == FIREFOX and record.ip_address == "203.0.113.7"
    assert cookie(client) not in record.sealed_key  # sealed, not stored as such
    assert body_unseal(record.sealed_key) == cookie(client)
    assert record.key_digest != cookie(client)


@pytest.mark.parametrize("engine", ENGINES)
def test_ending_a_session_from_one_browser_signs_the_other_out(settings, account, engine):
    settings.SESSION_ENGINE = engine
    first = sign_in(browser())
    second = sign_in(browser("Mozilla/5.0 (iPhone) Safari/604.1", "198.51.100.2"))
    key = cookie(second)
    record = record_of(second)
    response = first.post(f"/account/sessions/{record.pk}/end/")
    assert response["Location"] == "/account/sessions/"
    assert not store_has(key)
    assert not SessionRecord.objects.filter(pk=record.pk).exists()
    assert not signed_in(replayed(key))
    assert not signed_in(second)
    assert signed_in(first)
    event = Event.objects.get(kind="session.ended")
    assert event.account == account and event.data["by"] == account.email


@pytest.mark.parametrize("engine", ENGINES)
def test_sign_out_all_other_sessions_keeps_this_one(settings, account, engine):
    settings.SESSION_ENGINE = engine
    here = sign_in(browser())
    others = [sign_in(browser()), sign_in(browser())]
    keys = [cookie(other) for other in others]
    # A session opened before records existed has none: it ends all the same.
    SessionRecord.objects.filter(key_digest=key_digest(keys[1])).delete()
    response = here.post("/account/sessions/others/end/")
    assert response["Location"] == "/account/sessions/"
    assert signed_in(here)
    for key in keys:
        assert not signed_in(replayed(key))
    assert not store_has(keys[0])
    # This session's record followed it to its new key; the others' are gone.
    assert list(SessionRecord.objects.values_list("key_digest", flat=True)) == [
        key_digest(cookie(here))
    ]
    assert Event.objects.filter(kind="account.signed_out_elsewhere", account=account).exists()


def test_a_member_cannot_end_another_accounts_session(account):
    other = make_account(email="other@example.org")
    theirs = sign_in(browser(), "other@example.org")
    mine = sign_in(browser())
    record = record_of(theirs)
    mine.post(f"/account/sessions/{record.pk}/end/")
    assert SessionRecord.objects.filter(pk=record.pk).exists()
    assert signed_in(theirs)
    assert session_end(account=account, record_id=record.pk, actor=account) is False
    assert session_end(account=other, record_id=record.pk, actor=None) is True
    assert not signed_in(theirs)
    assert Event.objects.get(kind="session.ended").data["by"] == "operator"


def test_ending_this_very_session_signs_out(account):
    client = sign_in(browser())
    key = cookie(client)
    client.post(f"/account/sessions/{record_of(client).pk}/end/")
    assert not signed_in(client)
    assert not signed_in(replayed(key))
    assert not SessionRecord.objects.exists()


def test_sign_out_removes_the_record(account):
    client = sign_in(browser())
    client.post("/logout/")
    assert not SessionRecord.objects.exists()


def test_a_password_change_keeps_this_sessions_record_and_ends_the_others(account):
    here = sign_in(browser())
    other = sign_in(browser())
    other_key = cookie(other)
    response = here.post(
        "/account/password/",
        {
            "current_password": PASSWORD,
            "password": "another long passphrase",
            "password_confirm": "another long passphrase",
        },
    )
    assert response.status_code == 302
    assert signed_in(here)
    assert not store_has(other_key)
    assert list(SessionRecord.objects.values_list("key_digest", flat=True)) == [
        key_digest(cookie(here))
    ]


def test_staff_ending_every_session_deletes_them_from_the_store_at_once(account):
    clients = [sign_in(browser()), sign_in(browser())]
    keys = [cookie(client) for client in clients]
    staff = make_account(email="staff@example.org", is_staff=True)
    sessions_end_everywhere(account=account, actor=staff)
    assert not any(store_has(key) for key in keys)
    assert not SessionRecord.objects.exists()
    assert Event.objects.get(kind="account.signed_out_everywhere").data["by"] == staff.email


def test_the_operator_is_named_when_every_session_ends(account):
    sessions_end_everywhere(account=account, actor=None)
    assert Event.objects.get(kind="account.signed_out_everywhere").data["by"] == "operator"


def test_use_is_recorded_at_most_once_a_minute(account):
    client = sign_in(browser())
    record = record_of(client)
    long_ago = timezone.now() - timedelta(minutes=10)
    SessionRecord.objects.filter(pk=record.pk).update(last_seen_at=long_ago)
    client.get("/account/")
    record.refresh_from_db()
    assert record.last_seen_at == long_ago  # seen less than a minute ago: not written
    session = client.session
    session[SEEN_AT] -= 61
    session.save()
    client.get("/account/")
    record.refresh_from_db()
    assert record.last_seen_at > long_ago


def test_a_session_without_a_record_gets_one_when_used(account):
    client = sign_in(browser())
    SessionRecord.objects.all().delete()
    session = client.session
    session[SEEN_AT] -= 61
    session.save()
    client.get("/account/")
    assert record_of(client).account == account


def test_sessions_past_their_timeouts_are_not_listed_and_are_purged(account):
    sign_in(browser())
    sign_in(browser())
    idle, fresh = SessionRecord.objects.order_by("pk")
    SessionRecord.objects.filter(pk=idle.pk).update(
        last_seen_at=timezone.now() - timedelta(hours=2)
    )
    assert list(session_records_of(account)) == [fresh]
    assert session_records_purge() == 1
    assert list(SessionRecord.objects.all()) == [fresh]


def test_a_deleted_account_takes_its_records_with_it(account):
    sign_in(browser())
    Account.objects.filter(pk=account.pk).delete()
    assert not SessionRecord.objects.exists()


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (FIREFOX, "Firefox on Windows"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        ("Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile Safari/537.36", "Chrome on Android"),
        ("", "Unknown browser"),
    ],
)
def test_browser_labels(settings, user_agent, label):
    from django.utils import translation

    with translation.override("en"):
        assert browser_label(user_agent) == label
