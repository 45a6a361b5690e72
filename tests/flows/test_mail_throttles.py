"""Issue 17: an activation resend or an identifier reminder refused by its limit says so
(not "sent"), with the time to try again, the same whether or not an account exists."""

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_account
from tests.flows.walk import answer, start
from vestibule.accounts.models import Account
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
RESEND = "/flow/activation/resend/"
REMINDER = "/login/forgotten-identifier/"
SAID = {
    "fr": r"Plusieurs demandes ont été faites récemment pour {what} ou depuis votre connexion : "
    r"aucun courriel n'est envoyé cette fois-ci\. Réessayez après \d{{1,2}} h \d\d\.",
    "en": r"Several requests were made recently for {what} or from your connection, so no "
    r"e-mail is sent this time\. Try again after \d{{1,2}}:\d\d [AP]M\.",
}
SENT = {"fr": "a été envoyé", "en": "has been sent"}


def client(language: str, n: int) -> Client:
    browser = Client(REMOTE_ADDR=f"198.51.100.{n}")  # a new address each time
    browser.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return browser


def ask(url: str, field: str, value: str, language: str, times: int) -> list[str]:
    return [
        CSRF.sub("", client(language, n).post(url, {field: value}, follow=True).content.decode())
        for n in range(times)
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_fourth_activation_resend_says_it_was_not_sent_alike_for_everyone(language, use_profile):
    use_profile("community")
    make_account(email="pending@example.org", status=Account.Status.PENDING)
    known = ask(RESEND, "identifier", "pending@example.org", language, 4)
    unknown = ask(RESEND, "identifier", "nobody@example.org", language, 4)
    said = SAID[language].format(what="this identifier" if language == "en" else "cet identifiant")
    assert [bool(re.search(said, page)) for page in known] == [False, False, False, True]
    assert SENT[language] not in known[3]
    assert known[3].replace("pending@", "X@") == unknown[3].replace("nobody@", "X@")
    assert Message.objects.filter(to="pending@example.org").count() == 3


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_fourth_identifier_reminder_says_it_was_not_sent_alike_for_everyone(
    language, use_profile
):
    use_profile("physicians")
    make_account(email="claire@example.org", code="54321")
    known = ask(REMINDER, "email", "claire@example.org", language, 4)
    unknown = ask(REMINDER, "email", "nobody@example.org", language, 4)
    said = SAID[language].format(what="this address" if language == "en" else "cette adresse")
    assert [bool(re.search(said, page)) for page in known] == [False, False, False, True]
    assert SENT[language] not in known[3]
    assert known[3].replace("claire@", "X@") == unknown[3].replace("nobody@", "X@")
    assert Message.objects.filter(template="identifier_reminder").count() == 3


def test_the_client_address_limit_is_said_too(use_profile):
    use_profile("community")
    browser = Client(REMOTE_ADDR="203.0.113.9")
    pages = [
        browser.post(RESEND, {"identifier": f"n{n}@example.org"}, follow=True).content.decode()
        for n in range(6)
    ]
    assert [bool(re.search(SAID["fr"].format(what="cet identifiant"), p)) for p in pages] == (
        [False] * 5 + [True]
    )


def reset_pages(identifier: str, language: str, times: int) -> list[str]:
    pages = []
    for n in range(times):
        browser = client(language, n)
        start(browser, "recovery")
        answer(browser, "recovery", identifier=identifier)
        pages.append(CSRF.sub("", browser.get("/flow/recovery/").content.decode()))
    return pages


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "fr",
            r"Plusieurs demandes ont été faites récemment pour cet identifiant : aucun "
            r"courriel n'est envoyé cette fois-ci\. Réessayez après \d{1,2} h \d\d\.",
        ),
        (
            "en",
            r"Several requests were made recently for this identifier, so no e-mail is "
            r"sent this time\. Try again after \d{1,2}:\d\d [AP]M\.",
        ),
    ],
)
def test_a_fourth_password_reset_says_it_was_not_sent_alike_for_everyone(
    language, said, use_profile
):
    use_profile("community")
    make_account(email="member@example.org")
    known = reset_pages("member@example.org", language, 4)
    unknown = reset_pages("nobody@example.org", language, 4)
    assert [bool(re.search(said, page)) for page in known] == [False, False, False, True]
    assert 'data-testid="link-sent"' in known[0] and 'data-testid="link-sent"' not in known[3]
    assert known[3] == unknown[3]
    assert Message.objects.filter(template="password_reset").count() == 3


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_fourth_coverage_code_request_says_it_was_not_sent_alike_for_everyone(
    language, use_profile
):
    from tests.coverage.helpers import make_record

    use_profile("telehealth")
    make_record(emails={"olivier@example.org": "personal"})

    def ask_code(email: str) -> list[str]:
        pages = []
        for n in range(4):
            browser = client(language, n)
            browser.force_login(make_account(email=f"p{n}-{email}", region="qc"))
            response = browser.post("/coverage/resend/", {"email": email}, follow=True)
            pages.append(CSRF.sub("", response.content.decode()))
        return pages

    invited, stranger = ask_code("olivier@example.org"), ask_code("nobody@example.org")
    said = SAID[language].format(what="this address" if language == "en" else "cette adresse")
    assert [bool(re.search(said, page)) for page in invited] == [False, False, False, True]
    assert invited[3].replace("olivier@", "X@") == stranger[3].replace("nobody@", "X@")
    assert Message.objects.filter(to="olivier@example.org").count() == 3
