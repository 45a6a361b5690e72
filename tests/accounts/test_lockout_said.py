"""Issue 17: the attempt that locks says so, the same for an unknown identifier; the lock
e-mail says how it ends, when and from where the attempts came."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import PASSWORD, make_account
from vestibule.config import PROFILES_DIR

pytestmark = pytest.mark.django_db
WRONG = "definitely not it"
IP = "198.51.100.7"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def post(identifier: str, password: str = WRONG, language: str = "fr"):
    client = Client(REMOTE_ADDR=IP)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client.post("/login/", {"identifier": identifier, "password": password})


def page(response, identifier: str) -> str:
    """The body with what may differ between two visitors: the CSRF token, the typed text."""
    return CSRF.sub("", response.content.decode()).replace(identifier, "IDENTIFIER")


def fails(identifier: str, times: int, language: str = "fr") -> list:
    return [post(identifier, language=language) for _ in range(times)]


def profile_with(tmp_path, settings, name: str, old: str, new: str) -> None:
    custom = tmp_path / f"{name}-custom.toml"
    text = (PROFILES_DIR / f"{name}.toml").read_text()
    assert old in text
    custom.write_text(text.replace(old, new))
    settings.VESTIBULE_PROFILE = str(custom)


@pytest.mark.parametrize(
    ("language", "said", "way_out"),
    [
        ("fr", "ce compte est maintenant verrouillé", "Réinitialisez votre mot de passe"),
        ("en", "this account is now locked", "Reset your password to unlock it."),
    ],
)
def test_the_fifth_failure_says_the_lock_and_shows_the_way_out_instead_of_the_form(
    language, said, way_out
):
    make_account()
    *before, fifth = fails("marie@example.org", 5, language)
    html = fifth.content.decode()
    assert said in html and way_out in html
    assert 'data-testid="locked-reset"' in html and "/flow/recovery/start/" in html
    assert 'name="password"' not in html  # no form to try again
    assert all(said not in response.content.decode() for response in before)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_locking_an_unknown_identifier_reads_exactly_like_locking_an_account(language):
    make_account()
    known = fails("marie@example.org", 6, language)
    unknown = fails("nobody@example.org", 6, language)
    for mine, theirs in zip(known, unknown, strict=True):
        assert mine.status_code == theirs.status_code
        assert page(mine, "marie@example.org") == page(theirs, "nobody@example.org")
    # and it promises no e-mail it did not send: the wording is true for both
    text = known[4].content.decode()
    assert "Si un compte existe pour cet identifiant" in text or (
        "If an account exists for this identifier" in text
    )


@pytest.mark.parametrize(
    ("language", "warning"),
    [("fr", "Il vous reste une tentative"), ("en", "You have one attempt left")],
)
def test_a_profile_may_warn_before_the_last_attempt_the_same_for_everyone(
    language, warning, use_profile
):
    use_profile("extranet")  # warn_before_last = true
    make_account(email="direction@hotel.example", kind="user")
    known = fails("direction@hotel.example", 4, language)
    unknown = fails("nobody@hotel.example", 4, language)
    assert [warning in r.content.decode() for r in known] == [False, False, False, True]
    assert page(known[3], "direction@hotel.example") == page(unknown[3], "nobody@hotel.example")


def test_without_the_profile_key_there_is_no_warning():
    make_account()  # default profile: warn_before_last is off
    assert all("Il vous reste" not in r.content.decode() for r in fails("marie@example.org", 4))


@pytest.mark.parametrize(
    ("language", "when"),
    [
        ("fr", r"Il se déverrouillera de lui-même après \d{1,2} h \d\d\."),
        ("en", r"It unlocks by itself after \d{1,2}:\d\d [AP]M\."),
    ],
)
def test_with_a_cool_off_the_page_says_when_the_lock_ends_for_everyone(
    language, when, tmp_path, settings
):
    profile_with(tmp_path, settings, "default", "cooloff_minutes = 0", "cooloff_minutes = 15")
    make_account()
    known = fails("marie@example.org", 6, language)
    unknown = fails("nobody@example.org", 6, language)
    for mine, theirs in zip(known[4:], unknown[4:], strict=True):
        assert re.search(when, mine.content.decode())
        # The same page but for the minute the lock ends: the two locks began a few
        # milliseconds apart, which may straddle a minute.
        assert untimed(page(mine, "marie@example.org")) == untimed(
            page(theirs, "nobody@example.org")
        )


def untimed(body: str) -> str:
    return re.sub(r"\d{1,2}(:|\s*h\s*)\d\d(\s*[AP]M)?", "TIME", body)


@pytest.mark.django_db(transaction=True)
def test_the_lock_email_says_when_from_where_and_how_it_ends(inbox):
    make_account()
    fails("marie@example.org", 5)
    [message] = inbox.wait_for("marie@example.org")
    text = inbox.text(message)
    assert "5 tentatives de connexion avec un mauvais mot de passe" in text
    assert IP in text
    assert re.search(r"entre le \w+ \d{1,2} \w+ \d{4} à \d{1,2} h \d\d", text)
    assert "Réinitialisez votre mot de passe pour le déverrouiller" in text
    assert "/flow/recovery/start/" in text
    assert "se déverrouillera de lui-même" not in text  # no cool-off in this profile


@pytest.mark.django_db(transaction=True)
def test_the_lock_email_in_english_with_a_cool_off_gives_the_time(inbox, tmp_path, settings):
    profile_with(tmp_path, settings, "default", "cooloff_minutes = 0", "cooloff_minutes = 15")
    make_account(language="en")
    fails("marie@example.org", 5)
    [message] = inbox.wait_for("marie@example.org")
    text = inbox.text(message)
    assert "5 sign-in attempts with a wrong password failed for your account" in text
    assert f"the last one came from the address {IP}" in text
    assert re.search(r"It unlocks by itself on \w+ \d{1,2} \w+ \d{4}, \d{1,2}:\d\d [AP]M\.", text)


def test_the_right_password_while_locked_still_shows_the_way_out():
    make_account()
    fails("marie@example.org", 5)
    html = post("marie@example.org", PASSWORD).content.decode()
    assert "Trop de tentatives de connexion ont échoué pour cet identifiant" in html
    assert 'data-testid="locked-reset"' in html and 'name="password"' not in html
