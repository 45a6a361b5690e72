"""`vestibule api-client`: a client registered on the command line gets a token at once."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.api.conftest import ApiCredentials, token_request
from vestibule.api.models import ApiClient
from vestibule.audit.models import Event

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("api_client", *args, stdout=out)
    return out.getvalue()


def test_add_shows_the_secret_once_and_the_client_gets_a_token():
    answer = json.loads(
        _run(
            "add",
            "--name",
            "CRM",
            "--scope",
            "registry:write",
            "--scope",
            "audit:read",
            "--rate",
            "120",
            "--json",
        )
    )
    client = ApiClient.objects.get(application__client_id=answer["client_id"])
    assert client.scopes == ["registry:write", "audit:read"]
    assert client.rate_per_minute == 120
    assert client.created_by == "operator"
    assert answer["token_endpoint"].endswith("/o/token/")
    # Only the hash is kept.
    assert answer["client_secret"] not in client.application.client_secret
    credentials = ApiCredentials(client, answer["client_id"], answer["client_secret"])
    token = token_request(credentials, ["registry:write"])
    assert token.status_code == 200, token.content
    added = Event.objects.get(kind="api.client_added")
    assert added.data["by"] == "operator"
    assert added.data["scopes"] == ["registry:write", "audit:read"]
    assert answer["client_secret"] not in json.dumps(added.data)


def test_add_refuses_an_unknown_scope():
    with pytest.raises(CommandError):
        _run("add", "--name", "CRM", "--scope", "openid")
    assert not ApiClient.objects.exists()


def test_list_remove_and_rotate(api_client_factory):
    credentials = api_client_factory(["accounts:read"], name="Helpdesk")
    assert credentials.client_id in _run("list")
    listed = json.loads(_run("list", "--json"))
    assert listed[0]["scopes"] == ["accounts:read"] and "client_secret" not in listed[0]
    rotated = json.loads(_run("rotate-secret", credentials.client_id, "--json"))
    assert token_request(credentials, ["accounts:read"]).status_code == 401
    credentials.secret = rotated["client_secret"]
    assert token_request(credentials, ["accounts:read"]).status_code == 200
    _run("remove", credentials.client_id)
    assert not ApiClient.objects.exists()
    kinds = list(
        Event.objects.filter(kind__startswith="api.").order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["api.client_added", "api.client_secret_rotated", "api.client_removed"]
    with pytest.raises(CommandError, match="No API client"):
        _run("remove", credentials.client_id)


def test_the_command_is_listed_in_vestibule_help():
    from vestibule.cli import usage

    assert "api-client" in usage()


@pytest.mark.parametrize(
    "language,expected",
    [("en", "Unknown API scope openid"), ("fr", "Portée d’API inconnue : openid")],
)
def test_the_refusal_reads_in_the_consoles_language(language, expected):
    from django.utils import translation

    from vestibule.api.clients import ApiClientError, api_client_add

    with translation.override(language), pytest.raises(ApiClientError) as refused:
        api_client_add(name="CRM", scopes=["openid"])
    assert str(refused.value).startswith(expected)
