import re

import pytest
from django.test import Client

from tests.factories import make_account
from tests.flows.walk import last_link
from vestibule.accounts.models import Account
from vestibule.notifications.models import Message

pytestmark = pytest.mark.django_db
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def resend(client: Client, identifier: str):
    return client.post("/flow/activation/resend/", {"identifier": identifier}, follow=True)


def test_the_answer_is_the_same_whether_or_not_a_pending_account_exists(use_profile):
    use_profile("community")
    make_account(email="pending@example.org", status=Account.Status.PENDING)
    make_account(email="active@example.org")
    pages = [
        CSRF.sub("", resend(Client(), address).content.decode())
        for address in ["pending@example.org", "active@example.org", "nobody@example.org"]
    ]
    assert pages[0] == pages[1] == pages[2]
    assert "courrier indésirable" in pages[0]
    assert list(Message.objects.values_list("to", flat=True)) == ["pending@example.org"]


def test_the_new_link_activates_the_account(use_profile):
    use_profile("community")
    make_account(email="pending@example.org", status=Account.Status.PENDING)
    resend(Client(), "pending@example.org")
    browser = Client()
    assert browser.get(last_link("pending@example.org", "activation"))["Location"] == "/portal/"
    assert Account.objects.get().status == Account.Status.ACTIVE


def test_resending_is_throttled_per_account_and_per_address(use_profile):
    use_profile("community")
    make_account(email="pending@example.org", status=Account.Status.PENDING)
    for n in range(6):
        resend(Client(REMOTE_ADDR=f"198.51.100.{n}"), "pending@example.org")
    assert Message.objects.count() == 3  # three links an hour per account
    make_account(email="other@example.org", status=Account.Status.PENDING)
    for _ in range(6):
        resend(Client(), "other@example.org")
    assert Message.objects.filter(to="other@example.org").count() == 3
    Message.objects.all().delete()
    make_account(email="third@example.org", status=Account.Status.PENDING)
    client = Client(REMOTE_ADDR="203.0.113.1")
    for _ in range(5):
        resend(client, "nobody@example.org")
    resend(client, "third@example.org")
    assert not Message.objects.exists()  # this address used its five requests


def test_resend_error_message_in_both_languages(english_client):
    assert (
        "This field is required."
        in english_client.post("/flow/activation/resend/", {"identifier": ""}).content.decode()
    )
    assert (
        "Ce champ est obligatoire."
        in Client().post("/flow/activation/resend/", {"identifier": ""}).content.decode()
    )
