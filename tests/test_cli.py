import os
import subprocess
import sys
from pathlib import Path

import pytest

VESTIBULE = str(Path(sys.executable).with_name("vestibule"))


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(env)
    return subprocess.run(
        [VESTIBULE, *args], capture_output=True, text=True, env=environment, timeout=60
    )


def test_help_lists_the_project_commands():
    result = run("--help")
    assert result.returncode == 0
    for command in ["demo", "serve", "migrate", "import-members", "send-mail", "createsuperuser"]:
        assert f"  {command}" in result.stdout


def test_a_wrong_profile_stops_start_up_with_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('languages = ["fr"]\n[organisation]\nname = 3\n')
    result = run("check", VESTIBULE_PROFILE=str(bad), VESTIBULE_VAR_DIR=str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(bad) in lines[0] and "organisation.name" in lines[0]


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(
        "check",
        VESTIBULE_ENV="production",
        ALLOWED_HOSTS="members.example.org",
        VESTIBULE_VAR_DIR=str(tmp_path),
        SECRET_KEY="",
    )
    assert result.returncode == 2
    assert "SECRET_KEY must be set" in result.stderr


def test_development_generates_a_secret_key_once_and_keeps_it(tmp_path):
    assert run("check", VESTIBULE_VAR_DIR=str(tmp_path), SECRET_KEY="").returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert run("check", VESTIBULE_VAR_DIR=str(tmp_path), SECRET_KEY="").returncode == 0
    assert (tmp_path / "secret_key").read_text() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"


def test_check_profile_names_an_unknown_stage(tmp_path):
    custom = tmp_path / "custom.toml"
    text = (Path(__file__).parents[1] / "vestibule/profiles/default.toml").read_text()
    custom.write_text(text.replace('"activation_link"]', '"activation_lnk"]'))
    result = run("check-profile", str(custom), VESTIBULE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "unknown stage 'activation_lnk'" in result.stderr


@pytest.mark.parametrize("profile", ["default", "dentists", "physicians", "telehealth"])
def test_demo_sets_up_a_profile_and_says_what_to_try(tmp_path, profile):
    result = run("demo", "--no-serve", VESTIBULE_PROFILE=profile, VESTIBULE_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "/dev/mail/" in result.stdout and "Sign in as:" in result.stdout
    assert "Members' section (signs in through Vestibule" in result.stdout
    assert (tmp_path / f"vestibule-{profile}.sqlite3").exists()
    again = run("demo", "--no-serve", VESTIBULE_PROFILE=profile, VESTIBULE_VAR_DIR=str(tmp_path))
    assert again.returncode == 0, again.stderr  # a second run finds everything in place


def test_demo_mail_links_lead_to_the_port_it_serves(tmp_path):
    import re
    import time
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    from tests.load.server import BIN, free_port, running

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("VESTIBULE_BASE_URL", None)
    env.update(VESTIBULE_PROFILE="community", VESTIBULE_VAR_DIR=str(tmp_path))
    command = [BIN / "vestibule", "demo", "--port", str(port)]
    with running(command, env, port) as base:
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        page = browser.open(f"{base}/flow/recovery/start/", timeout=10).read().decode()
        fields = dict(
            re.findall(r'name="(csrfmiddlewaretoken|flow_id|stage_index)" value="([^"]*)"', page)
        )
        fields["identifier"] = "membre@example.org"
        request = urllib.request.Request(
            f"{base}/flow/recovery/",
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Referer": base},
        )
        browser.open(request, timeout=10).read()
        # The e-mail leaves from a thread after the response: the page lists it once sent.
        for _ in range(50):
            listing = browser.open(f"{base}/dev/mail/", timeout=10).read().decode()
            found = re.search(r'href="(/dev/mail/\d+/)"', listing)
            if found:
                break
            time.sleep(0.2)
        first = found.group(1)
        mail = browser.open(f"{base}{first}", timeout=10).read().decode()
    assert f"http://127.0.0.1:{port}/flow/recovery/resume/" in mail


def test_demo_starts_the_example_section_and_a_member_signs_in_there(tmp_path):
    """`make demo` registers examples/members_section/, serves it on the next port, and the
    demo account signs in there through Vestibule; a second run still does (new secret)."""
    import re
    import time

    import requests

    from tests.load.server import BIN, free_port, running
    from vestibule.web.management.commands.demo import DEMO_PASSWORD

    port = free_port()
    section = f"http://127.0.0.1:{port + 1}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.pop("VESTIBULE_BASE_URL", None)
    env.update(VESTIBULE_PROFILE="default", VESTIBULE_VAR_DIR=str(tmp_path))
    command = [BIN / "vestibule", "demo", "--port", str(port)]
    for _ in range(2):
        with running(command, env, port) as base:
            browser = requests.Session()
            for _ in range(100):
                try:
                    home = browser.get(f"{section}/", timeout=5)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            assert "Se connecter" in home.text
            sign_in = browser.get(f"{section}/login/", timeout=10)
            assert (
                sign_in.history[0]
                .headers["Location"]
                .startswith(f"{base}/o/authorize/?response_type=code&client_id=")
            )
            assert sign_in.url.startswith(f"{base}/login/?next=/o/authorize/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', sign_in.text)[1]
            signed_in = browser.post(
                sign_in.url,
                data={
                    "identifier": "marie.tremblay@example.org",
                    "password": DEMO_PASSWORD,
                    "csrfmiddlewaretoken": token,
                },
                headers={"Referer": sign_in.url},
                timeout=10,
            )
            assert signed_in.url == f"{section}/"
            assert "Marie Tremblay" in signed_in.text and "123456" in signed_in.text
        # The demo stopped its section with it.
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{section}/", timeout=5)


@pytest.mark.parametrize("taken", [0, 1], ids=["portal port", "section port"])
def test_demo_refuses_a_busy_port_before_its_banner(tmp_path, taken: int):
    import socket

    from tests.load.server import free_port

    # A free port whose neighbour is free too: another test's server may hold port + 1.
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    while True:
        port = free_port()
        try:
            squatter.bind(("127.0.0.1", port + taken))
            break
        except OSError:
            continue
    with squatter:
        squatter.listen()
        result = run("demo", "--port", str(port), VESTIBULE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert f"port {port + taken} is busy" in result.stderr
    assert f"PORT={port + 10}" in result.stderr
    assert "Vestibule demo" not in result.stdout and "Sign in as" not in result.stdout
    # Nothing was set up either: the database was never created.
    assert not list(tmp_path.glob("*.sqlite3"))
