"""Seed 001: five failures lock the account until a reset; seed 003: blocked addresses."""

import ipaddress
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account
from vestibule.accounts.models import Account
from vestibule.audit.models import Event
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
WRONG = "definitely not it"


def attempt(
    identifier: str, password: str = WRONG, client: Client | None = None, ip: str = "198.51.100.1"
):
    client = client or Client(REMOTE_ADDR=ip)
    response = client.post(
        "/login/", {"identifier": identifier, "password": password}, REMOTE_ADDR=ip
    )
    if response.status_code == 429:
        return "blocked"
    outcome = response.context.get("outcome") if response.context else None
    return outcome.outcome if outcome else "ok"


def test_the_fifth_failure_locks_and_the_right_password_is_then_refused(use_profile):
    use_profile("extranet")
    account = make_account(email="direction@hotel.example")
    outcomes = [attempt("direction@hotel.example") for _ in range(5)]
    assert outcomes == ["invalid"] * 4 + ["locked"]  # the fifth says so at once
    account.refresh_from_db()
    assert account.locked_at is not None
    assert attempt("direction@hotel.example", PASSWORD) == "locked"


def test_the_locked_page_says_too_many_attempts_and_that_a_reset_unlocks():
    make_account()
    for _ in range(5):
        attempt("marie@example.org")
    response = Client().post("/login/", {"identifier": "marie@example.org", "password": PASSWORD})
    html = response.content.decode()
    assert "Trop de tentatives" in html and "/flow/recovery/start/" in html


def test_the_member_receives_an_email_when_locked():
    make_account()
    for _ in range(6):
        attempt("marie@example.org")
    assert Message.objects.filter(template="account_locked", to="marie@example.org").count() == 1
    assert Event.objects.filter(kind="account.locked").count() == 1


def test_failures_by_licence_and_by_email_count_together(use_profile):
    use_profile("dentists")
    make_account(email="dr.lavoie@example.org", code="12345")
    for identifier in ["12345", "dr.lavoie@example.org", "12345", "DR.LAVOIE@example.org"]:
        assert attempt(identifier) == "invalid"
    assert attempt(" 12345") == "locked"  # the fifth failure, by either identifier
    assert attempt("12345", PASSWORD) == "locked"


def test_a_success_resets_the_count():
    make_account()
    for _ in range(4):
        attempt("marie@example.org")
    assert attempt("marie@example.org", PASSWORD) == "ok"
    for _ in range(4):
        assert attempt("marie@example.org") == "invalid"
    assert attempt("marie@example.org", PASSWORD) == "ok"


def test_a_success_by_licence_resets_the_count_of_the_email_too(use_profile):
    use_profile("dentists")
    make_account(email="dr.lavoie@example.org", code="12345")
    for _ in range(4):
        assert attempt("dr.lavoie@example.org") == "invalid"
    assert attempt("12345", PASSWORD) == "ok"
    for _ in range(4):
        assert attempt("dr.lavoie@example.org") == "invalid"
    assert attempt("dr.lavoie@example.org", PASSWORD) == "ok"


def test_attempts_while_locked_compute_no_hash_and_are_not_counted(hashes):
    make_account()
    for _ in range(5):
        attempt("marie@example.org")
    hashes.clear()
    failures = Event.objects.filter(kind="sign_in.failed").count()
    assert attempt("marie@example.org", PASSWORD) == "locked"
    assert attempt("marie@example.org") == "locked"
    assert hashes == []
    assert Event.objects.filter(kind="sign_in.failed").count() == failures


def test_an_unknown_identifier_shows_the_same_lock_after_the_same_number_of_tries():
    make_account()
    known = [attempt("marie@example.org") for _ in range(6)]
    unknown = [attempt("nobody@example.org") for _ in range(6)]
    assert known == unknown == ["invalid"] * 4 + ["locked"] * 2


def test_staff_unlock_from_the_admin_console(admin_client):
    account = make_account()
    for _ in range(5):
        attempt("marie@example.org")
    response = admin_client.post(
        "/admin/accounts/account/", {"action": "unlock", "_selected_action": [account.pk]}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.locked_at is None
    assert attempt("marie@example.org", PASSWORD) == "ok"
    assert Event.objects.filter(kind="account.unlocked", account=account).exists()


def test_without_cool_off_a_lock_lasts(settings):
    account = make_account()
    for _ in range(5):
        attempt("marie@example.org")
    Account.objects.filter(pk=account.pk).update(locked_at=timezone.now() - timedelta(days=30))
    assert attempt("marie@example.org", PASSWORD) == "locked"


def test_a_profile_cool_off_unlocks_by_itself(tmp_path, settings):
    from vestibule.config import PROFILES_DIR

    custom = tmp_path / "cooloff.toml"
    custom.write_text(
        (PROFILES_DIR / "default.toml")
        .read_text()
        .replace("cooloff_minutes = 0", "cooloff_minutes = 15")
    )
    settings.VESTIBULE_PROFILE = str(custom)
    account = make_account()
    for _ in range(5):
        attempt("marie@example.org")
    assert attempt("marie@example.org", PASSWORD) == "locked"
    Account.objects.filter(pk=account.pk).update(locked_at=timezone.now() - timedelta(minutes=16))
    assert attempt("marie@example.org", PASSWORD) == "ok"


def test_an_address_with_too_many_failures_is_blocked_for_a_while(use_profile):
    use_profile("community")  # 20 failures in 15 minutes block for 30 minutes
    for n in range(20):
        assert attempt(f"user{n}@example.org", ip="203.0.113.7") == "invalid"
    make_account(email="real@example.org")
    response = Client().post(
        "/login/",
        {"identifier": "real@example.org", "password": PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 429
    assert response["Retry-After"] == str(30 * 60)
    assert "temporairement bloquée" in response.content.decode()
    assert "30 minutes" in response.content.decode()
    assert attempt("real@example.org", PASSWORD, ip="203.0.113.8") == "ok"
    assert Event.objects.filter(kind="address.blocked", subject="203.0.113.7").count() == 1


def test_the_blocked_page_speaks_the_visitors_language(use_profile, settings):
    use_profile("community")
    for n in range(20):
        attempt(f"user{n}@example.org", ip="203.0.113.7")
    english = Client(REMOTE_ADDR="203.0.113.7")
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = english.post("/login/", {"identifier": "a@example.org", "password": WRONG})
    assert response.status_code == 429
    assert "temporarily blocked" in response.content.decode()
    assert "(in 30 minutes)" in response.content.decode()


def test_a_blocked_address_is_refused_before_sessions_and_the_database(
    use_profile, django_assert_num_queries
):
    use_profile("community")
    for n in range(20):
        attempt(f"user{n}@example.org", ip="203.0.113.7")
    attempt("first@example.org", ip="203.0.113.7")  # logs the refusal (once a minute)
    client = Client(REMOTE_ADDR="203.0.113.7")
    with django_assert_num_queries(0):
        response = client.post("/login/", {"identifier": "b@example.org", "password": WRONG})
    assert response.status_code == 429
    assert not response.cookies  # no session, no CSRF cookie
    assert response["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in response


def test_a_blocked_address_computes_no_hash(use_profile, hashes):
    use_profile("community")
    for n in range(20):
        attempt(f"user{n}@example.org", ip="203.0.113.7")
    hashes.clear()
    assert attempt("someone@example.org", ip="203.0.113.7") == "blocked"
    assert hashes == []


def test_forwarded_for_counts_only_behind_a_trusted_proxy(use_profile, settings):
    use_profile("community")
    settings.VESTIBULE_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    behind_proxy = Client(REMOTE_ADDR="127.0.0.1")
    for n in range(20):
        behind_proxy.post(
            "/login/",
            {"identifier": f"u{n}@example.org", "password": WRONG},
            HTTP_X_FORWARDED_FOR="203.0.113.50",
            REMOTE_ADDR="127.0.0.1",
        )
    blocked = behind_proxy.post(
        "/login/",
        {"identifier": "x@example.org", "password": WRONG},
        HTTP_X_FORWARDED_FOR="203.0.113.50",
        REMOTE_ADDR="127.0.0.1",
    )
    assert blocked.status_code == 429
    other_client = behind_proxy.post(
        "/login/",
        {"identifier": "x@example.org", "password": WRONG},
        HTTP_X_FORWARDED_FOR="203.0.113.51",
        REMOTE_ADDR="127.0.0.1",
    )
    assert other_client.context["outcome"].outcome == "invalid"


def test_an_unlocked_account_is_refused_no_more_after_a_password_reset():
    from vestibule.accounts.services import account_set_password

    account = make_account()
    for _ in range(5):
        attempt("marie@example.org")
    account_set_password(account=account, password="a brand new passphrase", event="password.reset")
    assert attempt("marie@example.org", "a brand new passphrase") == "ok"


def test_the_admin_login_sends_staff_to_the_sign_in_page():
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/admin/"


def test_a_locked_staff_account_cannot_get_in_through_django_authenticate():
    """The admin console's own login form, or any authenticate() caller, meets the lockout."""
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    account = make_account(email="staff@example.org", is_staff=True)
    request = RequestFactory().post("/admin/login/", REMOTE_ADDR="198.51.100.9")
    for _ in range(5):
        assert authenticate(request, username="staff@example.org", password=WRONG) is None
    account.refresh_from_db()
    assert account.locked_at is not None
    assert authenticate(request, username="staff@example.org", password=PASSWORD) is None
    assert Event.objects.filter(kind="sign_in.failed", account=account).count() == 5


def test_an_unknown_identifier_stays_locked_like_an_account_not_like_a_window():
    """A locked unknown identifier tells the same story as a locked account: the lock holds
    after the failures are forgotten, until it would end for an account."""
    from vestibule.throttle import counters

    for _ in range(4):
        assert attempt("nobody@example.org") == "invalid"
    assert attempt("nobody@example.org") == "locked"
    counters.clear("failures", "typed:nobody@example.org")  # the window has passed
    assert attempt("nobody@example.org") == "locked"
    assert attempt("nobody@example.org", "another guess") == "locked"
