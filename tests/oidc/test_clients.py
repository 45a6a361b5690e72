"""Registering members' sections: `vestibule oidc-client` end to end, and the admin console."""

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from authlib.integrations.base_client import OAuthError
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from oauth2_provider.models import Application

from tests.factories import PASSWORD, make_account
from tests.oidc.relying_party import Browser, RelyingParty
from vestibule.audit.models import Event
from vestibule.oidc.models import Section

pytestmark = pytest.mark.django_db(transaction=True)

VESTIBULE = str(Path(sys.executable).with_name("vestibule"))
CALLBACK = "http://127.0.0.1:8765/callback"


def _database_url() -> str:
    """The test database, for a `vestibule` process started by the test."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def vestibule(*args: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "VESTIBULE_OIDC_KEY_DIR": str(settings.OIDC_KEY_DIR),
        "VESTIBULE_PROFILE": str(settings.VESTIBULE_PROFILE),
    }
    environment.pop("VESTIBULE_BASE_URL", None)
    return subprocess.run(
        [VESTIBULE, *args], capture_output=True, text=True, env=environment, timeout=60
    )


def command(*args: str) -> str:
    out = StringIO()
    call_command("oidc_client", *args, stdout=out)
    return out.getvalue()


def sign_in_through(live_server, client_id: str, secret: str) -> dict:
    """A member signs in to the section; the section redeems the code: its token response."""
    rp = RelyingParty(live_server.url, client_id, secret, redirect_uri=CALLBACK)
    browser = Browser(live_server.url)
    assert browser.sign_in("marie@example.org", PASSWORD).status_code == 302
    callback = rp.callback_of(browser.follow_to_callback(rp.authorization_url()))
    token = rp.token(callback)
    assert rp.id_claims(token)["email"] == "marie@example.org"
    return token


def test_add_json_from_the_executable_connects_a_section_by_the_real_protocol(live_server):
    make_account()
    result = vestibule(
        "oidc-client", "add", "--name", "Espace formation", "--redirect-uri", CALLBACK,
        "--allow-kind", "member", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    assert printed["issuer"] == "http://127.0.0.1:8000/o"
    assert printed["discovery"] == "http://127.0.0.1:8000/o/.well-known/openid-configuration"
    assert printed["redirect_uris"] == [CALLBACK]
    client_id, secret = printed["client_id"], printed["client_secret"]

    stored = Application.objects.get(client_id=client_id)
    assert secret not in stored.client_secret  # only the hash is kept
    assert check_password(secret, stored.client_secret)
    # A random secret needs no memory-hard hash at every token request; passwords keep Argon2id.
    assert stored.client_secret.startswith("pbkdf2_sha256_client_secret$")
    assert stored.authorization_grant_type == "authorization-code"
    assert stored.algorithm == "RS256" and stored.skip_authorization
    assert stored.section.allowed_kinds == ["member"]
    added = Event.objects.get(kind="oidc.client_added")
    assert added.data["client"] == client_id and added.data["by"] == "operator"
    assert secret not in json.dumps(added.data)

    token = sign_in_through(live_server, client_id, secret)
    assert token["token_type"].lower() == "bearer"


def test_a_public_section_gets_no_secret():
    answer = json.loads(
        command("add", "--name", "Appli", "--redirect-uri", CALLBACK, "--public", "--json")
    )
    assert "client_secret" not in answer and answer["client_type"] == "public"


def test_rotate_secret_makes_the_old_secret_fail_at_the_token_endpoint(live_server):
    make_account()
    added = json.loads(command("add", "--name", "Espace", "--redirect-uri", CALLBACK, "--json"))
    client_id, old = added["client_id"], added["client_secret"]
    sign_in_through(live_server, client_id, old)

    rotated = json.loads(command("rotate-secret", client_id, "--json"))
    new = rotated["client_secret"]
    assert new != old
    with pytest.raises(OAuthError) as refused:
        sign_in_through(live_server, client_id, old)
    assert refused.value.error == "invalid_client"
    sign_in_through(live_server, client_id, new)
    assert Event.objects.filter(kind="oidc.client_secret_rotated").count() == 1


def test_remove_makes_the_authorization_endpoint_refuse_the_section(live_server):
    make_account()
    added = json.loads(command("add", "--name", "Espace", "--redirect-uri", CALLBACK, "--json"))
    rp = RelyingParty(live_server.url, added["client_id"], added["client_secret"], CALLBACK)
    url = rp.authorization_url()
    browser = Browser(live_server.url)
    browser.sign_in("marie@example.org", PASSWORD)

    assert "Removed" in command("remove", added["client_id"])
    refused = browser.session.get(url, allow_redirects=False)
    assert refused.status_code == 400
    assert 'data-testid="oidc-error"' in refused.text
    assert not Section.objects.exists()
    removed = Event.objects.get(kind="oidc.client_removed")
    assert removed.data["client"] == added["client_id"]


def test_list_shows_the_sections_in_a_table_and_in_json():
    command("add", "--name", "Espace A", "--redirect-uri", CALLBACK)
    command("add", "--name", "Espace B", "--redirect-uri", "https://b.example.org/cb")
    table = command("list")
    assert "Espace A" in table and "https://b.example.org/cb" in table
    listed = json.loads(command("list", "--json"))
    assert [s["name"] for s in listed] == ["Espace A", "Espace B"]
    assert all("client_secret" not in s for s in listed)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--allow-kind", "astronaut"], "Unknown member kind astronaut"),
        (["--require-right", "finances"], "Unknown access right finances"),
        (["--redirect-uri", "http://section.example.org/cb"], "must use https"),
        (["--redirect-uri", "/callback"], "is not an absolute URI"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(args, message):
    extra = [] if "--redirect-uri" in args else ["--redirect-uri", CALLBACK]
    result = vestibule("oidc-client", "add", "--name", "Espace", *extra, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not Application.objects.exists()


def test_bad_input_through_call_command_raises_with_code_2():
    with pytest.raises(CommandError) as error:
        command("add", "--name", "E", "--redirect-uri", CALLBACK, "--allow-kind", "nobody")
    assert error.value.returncode == 2


def test_production_refuses_plain_http_even_on_this_machine(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="must use https"):
        command("add", "--name", "E", "--redirect-uri", CALLBACK)
    command("add", "--name", "E", "--redirect-uri", "https://section.example.org/cb")


def test_unknown_client_id_for_remove_and_rotate_is_a_clear_error():
    for action in ("remove", "rotate-secret"):
        result = vestibule("oidc-client", action, "nope")
        assert result.returncode == 2
        assert "No section has the client ID nope" in result.stderr


# --- the admin console -----------------------------------------------------------------------


def _admin_form(**fields) -> dict:
    return {
        "name": "Espace formation",
        "redirect_uris": "https://formation.example.org/cb",
        "post_logout_redirect_uris": "",
        "description_fr": "Vos formations",
        "description_en": "Your courses",
        "home_url": "https://formation.example.org/",
        "required_right": "",
        "backchannel_logout_uri": "",
        "first_party": "on",
        **fields,
    }


def secret_on(page) -> str:
    html = page.content.decode()
    return re.search(r'data-testid="client-secret">([^<]+)<', html)[1]


def test_an_operator_adds_a_section_from_the_admin_and_sees_its_secret_once(client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/oidc/section/add/")
    assert page.status_code == 200 and "redirect_uris" in page.content.decode()
    response = client.post("/admin/oidc/section/add/", _admin_form(allowed_kinds=["member"]))
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "no-store" in response["Cache-Control"]
    section = Section.objects.select_related("application").get()
    assert section.application.name == "Espace formation"
    assert section.allowed_kinds == ["member"]
    assert section.application.client_id in response.content.decode()
    added = Event.objects.get(kind="oidc.client_added")
    assert added.data["by"] == admin_user.email
    # The secret is on this page, and only its hash in the database, messages or session.
    secret = secret_on(response)
    assert check_password(secret, section.application.client_secret)
    later = client.get(f"/admin/oidc/section/{section.pk}/change/").content.decode()
    assert secret not in later and secret not in str(client.session.items())


def test_an_operator_gives_a_section_a_new_secret_from_the_admin(client, admin_user, live_server):
    make_account()
    client.force_login(admin_user)
    added = json.loads(command("add", "--name", "Espace", "--redirect-uri", CALLBACK, "--json"))
    section = Section.objects.get()
    page = client.post(
        "/admin/oidc/section/",
        {"action": "rotate_secret", "_selected_action": [section.pk]},
    )
    assert page.status_code == 200
    new = secret_on(page)
    with pytest.raises(OAuthError):
        sign_in_through(live_server, added["client_id"], added["client_secret"])
    sign_in_through(live_server, added["client_id"], new)
    rotated = Event.objects.get(kind="oidc.client_secret_rotated")
    assert rotated.data["by"] == admin_user.email


def test_the_admin_refuses_an_unknown_kind_and_plain_http(client, admin_user):
    client.force_login(admin_user)
    bad = client.post(
        "/admin/oidc/section/add/",
        _admin_form(redirect_uris="http://formation.example.org/cb"),
    )
    assert bad.status_code == 200
    assert "doit utiliser https" in bad.content.decode()  # the console speaks French
    assert not Application.objects.exists()


def test_admin_changes_and_removal_are_audited(client, admin_user):
    client.force_login(admin_user)
    client.post("/admin/oidc/section/add/", _admin_form())
    section = Section.objects.get()
    changed = client.post(
        f"/admin/oidc/section/{section.pk}/change/",
        _admin_form(name="Espace renommé", first_party=""),
    )
    assert changed.status_code == 302
    section.refresh_from_db()
    section.application.refresh_from_db()
    assert section.application.name == "Espace renommé"
    assert not section.first_party and not section.application.skip_authorization
    event = Event.objects.get(kind="oidc.client_changed")
    assert event.data["by"] == admin_user.email and "name" in event.data["fields"]

    client.post(f"/admin/oidc/section/{section.pk}/delete/", {"post": "yes"})
    assert not Application.objects.exists()
    assert Event.objects.filter(kind="oidc.client_removed", data__by=admin_user.email).exists()


def test_changes_on_the_toolkit_application_page_are_audited_too(client, admin_user):
    client.force_login(admin_user)
    added = json.loads(command("add", "--name", "Espace", "--redirect-uri", CALLBACK, "--json"))
    application = Application.objects.get(client_id=added["client_id"])
    client.post(f"/admin/oauth2_provider/application/{application.pk}/delete/", {"post": "yes"})
    assert not Application.objects.exists()
    assert Event.objects.filter(kind="oidc.client_removed", data__by=admin_user.email).exists()


def test_a_section_added_with_require_mfa_requires_it(db):
    answer = json.loads(
        command(
            "add",
            "--name",
            "Dossiers patients",
            "--redirect-uri",
            "https://dossiers.example.org/callback",
            "--require-mfa",
            "--json",
        )
    )
    assert answer["requires_mfa"] is True
    assert Section.objects.get(application__client_id=answer["client_id"]).requires_mfa
    plain = json.loads(
        command(
            "add", "--name", "Nouvelles", "--redirect-uri", "https://n.example.org/cb", "--json"
        )
    )
    assert plain["requires_mfa"] is False
