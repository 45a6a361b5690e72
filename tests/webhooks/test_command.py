import io
import json
import re

import pytest
from django.core.management import CommandError, call_command

from vestibule.audit.models import Event
from vestibule.webhooks.models import Endpoint

pytestmark = pytest.mark.django_db


def webhook(*args: str) -> str:
    out = io.StringIO()
    call_command("webhook", *args, stdout=out)
    return out.getvalue()


def test_add_prints_the_secret_once_and_list_never_does():
    answer = json.loads(
        webhook(
            "add",
            "--url",
            "https://siem.example.org/hooks",
            "--kind",
            "sign_in.failed",
            "--kind",
            "account.disabled",
            "--json",
        )
    )
    assert answer["url"] == "https://siem.example.org/hooks"
    assert answer["kinds"] == ["sign_in.failed", "account.disabled"]
    assert answer["secret"].startswith("whsec_")
    assert Endpoint.objects.get().secret() == answer["secret"]
    listing = webhook("list")
    assert "https://siem.example.org/hooks" in listing and "sign_in.failed" in listing
    assert answer["secret"] not in listing
    assert answer["secret"] not in webhook("list", "--json")
    added = Event.objects.get(kind="webhook.added")
    assert added.subject == "https://siem.example.org/hooks"
    assert added.data["by"] == "operator"


def test_add_without_json_says_the_secret_is_shown_once():
    text = webhook("add", "--url", "http://10.0.0.5:8080/in", "--kind", "sign_out")
    assert "secret: whsec_" in text
    assert "shown this once" in text


def test_remove_takes_the_webhook_away_and_is_audited():
    endpoint_id = json.loads(
        webhook("add", "--url", "https://siem.example.org/h", "--kind", "sign_out", "--json")
    )["id"]
    assert "Removed webhook" in webhook("remove", str(endpoint_id))
    assert not Endpoint.objects.exists()
    assert Event.objects.filter(kind="webhook.removed", data__webhook=endpoint_id).exists()
    assert "No webhook registered" in webhook("list")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--url", "ftp://siem.example.org/", "--kind", "sign_out"], "not an http(s) URL"),
        (["add", "--url", "siem", "--kind", "sign_out"], "not an http(s) URL"),
        (["add", "--url", "https://siem.example.org/", "--kind", "Sign Out"], "not an event kind"),
        (["remove", "999"], "No webhook 999"),
    ],
)
def test_bad_input_is_refused_with_code_2(args, message):
    with pytest.raises(CommandError, match=re.escape(message)) as refused:
        webhook(*args)
    assert refused.value.returncode == 2
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "sign out is not an event kind."),
        ("fr", "sign out n’est pas un type d’événement."),
    ],
)
def test_the_refusal_is_in_the_operators_language(language, message):
    from django.utils import translation

    from vestibule.webhooks.services import WebhookError, endpoint_add

    with translation.override(language), pytest.raises(WebhookError) as refused:
        endpoint_add(url="https://siem.example.org/", kinds=["sign out"])
    assert str(refused.value) == message
