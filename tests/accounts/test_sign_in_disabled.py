"""A disabled account cannot sign in, nor go on with a session opened before (issue 14).

With the right password the page says the account is disabled and names the support
contact; with a wrong one it is the page an unknown identifier gets, so nobody learns
from it that the account exists.
"""

import html
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.test import Client
from django.utils import timezone

from tests.factories import PASSWORD, make_account
from vestibule.accounts.lifecycle import account_disable
from vestibule.accounts.models import Account
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def sign_in(client: Client, identifier: str, password: str = PASSWORD):
    return client.post("/login/", {"identifier": identifier, "password": password})


def page_of(response, identifier: str) -> str:
    """The page with what differs by nature removed: the CSRF token and the typed identifier."""
    text = CSRF.sub("", response.content.decode())
    return text.replace(identifier, "IDENTIFIER")


@pytest.fixture
def disabled() -> Account:
    account = make_account(email="marie@example.org", code="123456", activated_at=timezone.now())
    account_disable(account=account, reason="fraude", actor=None)
    return account


def test_the_right_password_shows_the_disabled_page_naming_the_support_contact(client, disabled):
    response = sign_in(client, "marie@example.org")
    assert response.status_code == 200
    assert response.context["outcome"].outcome == "disabled"
    page = html.unescape(response.content.decode())
    assert "Ce compte est désactivé." in page
    assert "communiquez avec l'équipe de soutien" in page
    assert "support@vestibule.example" in page and "514 555-0100" in page
    assert "_auth_user_id" not in client.session
    assert Event.objects.filter(kind="sign_in.refused_disabled", account=disabled).exists()


def test_the_disabled_page_in_english(english_client, disabled):
    page = sign_in(english_client, "123456").content.decode()
    assert "This account is disabled." in page
    assert "contact the support team" in page and "support@vestibule.example" in page


def test_a_wrong_password_gets_exactly_the_page_of_an_unknown_identifier(client, disabled):
    wrong = page_of(
        sign_in(client, "marie@example.org", "a wrong passphrase 1234"), "marie@example.org"
    )
    unknown = page_of(
        sign_in(Client(), "nobody@example.org", "a wrong passphrase 1234"), "nobody@example.org"
    )
    assert 'data-outcome="invalid"' in wrong
    assert wrong == unknown
    assert "désactivé" not in wrong and "support@vestibule.example" not in wrong


def test_django_authenticate_refuses_a_disabled_account_with_the_right_password(rf):
    """The admin console's login and any later API go through Django's authenticate()."""
    agent = make_account(email="agent@example.org", is_staff=True)
    account_disable(account=agent, reason="départ", actor=None)
    request = rf.post("/admin/login/")
    assert authenticate(request, username="agent@example.org", password=PASSWORD) is None


def test_a_session_cookie_taken_before_the_disable_is_refused_after_it(client):
    account = make_account()
    assert sign_in(client, "marie@example.org").status_code == 302
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert client.get("/account/").status_code == 200

    account_disable(
        account=account,
        reason="fraude",
        actor=make_account(email="root@example.org", is_staff=True, is_superuser=True),
    )

    replayed = Client()
    replayed.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    page = replayed.get("/account/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    home = replayed.get("/", follow=True)
    assert not home.wsgi_request.user.is_authenticated


def test_enabled_again_the_account_signs_in(client, disabled):
    from vestibule.accounts.lifecycle import account_enable

    account_enable(account=disabled, actor=None)
    assert sign_in(client, "marie@example.org").status_code == 302
