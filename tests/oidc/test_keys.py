"""Signing-key rotation: published before it signs, kept until what it signed has expired.

A node reads the key folder at start; `restart()` does what a restart does (settings read
again from the folder) so the JWKS and the signing key seen here are what a node would serve.
"""

import base64
import datetime as dt
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from tests.factories import make_account
from tests.oidc.relying_party import REDIRECT_URI, query_of, section_register
from vestibule.oidc.keys import keys_ensure, keys_load, keys_rotate

pytestmark = pytest.mark.django_db

VESTIBULE = str(Path(sys.executable).with_name("vestibule"))


@pytest.fixture
def restart(tmp_path, settings):
    folder = tmp_path / "oidc-keys"
    keys_ensure(folder)
    settings.OIDC_KEY_DIR = folder

    def read_keys_again() -> None:
        active, published = keys_load(folder)
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": active,
            "OIDC_RSA_PRIVATE_KEYS_INACTIVE": published,
        }

    read_keys_again()
    read_keys_again.folder = folder
    return read_keys_again


def oidc_key(action: str) -> str:
    out = StringIO()
    call_command("oidc_key", action, stdout=out)
    return out.getvalue()


def jwks(client) -> dict:
    return client.get("/o/.well-known/jwks.json").json()


def kids(client) -> list[str]:
    return [key["kid"] for key in jwks(client)["keys"]]


def shown(output: str, role: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith(role + " ")]


def id_token(client) -> str:
    """A section's ID token for Marie, by the code flow (authorize, then the token endpoint)."""
    application, secret = section_register()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    query = {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge.decode(),
        "code_challenge_method": "S256",
    }
    answer = client.get(f"/o/authorize/?{urlencode(query)}")
    assert answer.status_code == 302, answer.content.decode()[:500]
    code = query_of(answer["Location"])["code"]
    token = client.post(
        "/o/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "client_secret": secret,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.content.decode()
    return token.json()["id_token"]


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def verifies(token: str, key_set: dict) -> bool:
    try:
        jwt.decode(token, KeySet.import_key_set(key_set), algorithms=["RS256"])
    except (JoseError, ValueError):
        return False
    return True


def test_the_next_key_is_published_before_it_signs_and_the_old_one_stays_after(client, restart):
    client.force_login(make_account())
    before = oidc_key("show")
    active, upcoming = shown(before, "active")[0], shown(before, "next")[0]
    assert kids(client)[:2] == [active, upcoming]  # published a rotation ahead
    signed_before = id_token(client)
    assert kid_of(signed_before) == active

    rotated = oidc_key("rotate")
    assert "restart" in rotated.lower()
    restart()

    published = kids(client)
    assert published[0] == upcoming  # the key the relying parties already knew now signs
    assert active in published  # retired, still published
    assert shown(rotated, "retired")[0] == active
    assert verifies(signed_before, jwks(client))
    assert kid_of(id_token(client)) == upcoming


def test_a_token_is_refused_once_its_key_is_no_longer_published(client, restart):
    """What prune must not do too early: without its key, a token no longer verifies."""
    client.force_login(make_account())
    signed = id_token(client)
    keys_rotate(restart.folder)
    keys_rotate(restart.folder)
    for retired in restart.folder.glob("retired-*.pem"):
        retired.unlink()
    restart()
    assert not verifies(signed, jwks(client))


def test_prune_drops_only_retired_keys_older_than_the_longest_token_lifetime(client, restart):
    folder = restart.folder
    now = dt.datetime.now(dt.UTC)
    keys_rotate(folder, now=now - dt.timedelta(days=31))  # past the 30-day refresh lifetime
    keys_rotate(folder, now=now - dt.timedelta(days=29))  # younger than that: kept
    kept_before = shown(oidc_key("show"), "retired")
    assert len(kept_before) == 2

    output = oidc_key("prune")
    assert "Dropped 1 retired key" in output
    assert shown(output, "retired") == kept_before[1:]
    restart()
    assert kept_before[1] in kids(client) and kept_before[0] not in kids(client)


def test_prune_follows_the_lifetimes_in_settings(client, restart, settings):
    keys_rotate(restart.folder, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    assert "Dropped 0" in oidc_key("prune")
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ID_TOKEN_EXPIRE_SECONDS": 600,
        "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
        "REFRESH_TOKEN_EXPIRE_SECONDS": 3600,
    }
    assert "Dropped 1" in oidc_key("prune")


def test_show_names_the_keys_by_the_kid_the_jwks_publishes(client, restart):
    keys_rotate(restart.folder)
    restart()
    output = oidc_key("show")
    listed = shown(output, "active") + shown(output, "next") + shown(output, "retired")
    assert listed == kids(client)


def test_the_command_line_rotates_and_reminds_to_restart_the_nodes(tmp_path):
    folder = tmp_path / "keys"
    environment = {**os.environ, "VESTIBULE_OIDC_KEY_DIR": str(folder)}
    environment["VESTIBULE_VAR_DIR"] = str(tmp_path)
    environment.pop("DATABASE_URL", None)

    def run(action: str) -> str:
        done = subprocess.run(
            [VESTIBULE, "oidc-key", action], capture_output=True, text=True, env=environment
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    before = run("show")
    rotated = run("rotate")
    assert "Restart or reload every Vestibule node" in rotated
    assert shown(rotated, "active") == shown(before, "next")
    assert shown(rotated, "retired") == shown(before, "active")
    assert oct((folder / "active.pem").stat().st_mode & 0o777) == "0o600"


# Each process waits for the same instant, then reads the folder as a starting node does.
_STARTING_NODE = """
import hashlib, sys, time
from pathlib import Path
from vestibule.oidc.keys import keys_load
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
active, published = keys_load(Path(sys.argv[1]))
for pem in (active, published[0]):
    print(hashlib.sha256(pem.encode()).hexdigest())
"""


def test_processes_starting_at_once_on_an_empty_folder_all_sign_with_the_same_key(tmp_path):
    """gunicorn's workers (or two nodes) starting together on a new install: the first key
    written wins, and every process reads that one, not a key it drew and lost."""
    folder = tmp_path / "oidc-keys"
    start = str(time.time() + 2.0)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTING_NODE, str(folder), start],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    answers = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        answers.append(tuple(out.split()))
    on_disk = tuple(
        hashlib.sha256((folder / name).read_text().encode()).hexdigest()
        for name in ("active.pem", "next.pem")
    )
    assert set(answers) == {on_disk}
    assert sorted(path.name for path in folder.iterdir()) == ["active.pem", "next.pem"]
