"""deploy/: what the container recipe, compose.yaml and the env files say is checked against the
code that runs them, and the backup and restore scripts against a real PostgreSQL."""

import os
import re
import secrets
import shlex
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.core.management import get_commands, load_command_class
from django.core.management.base import CommandError

from tests.load.server import BIN, free_port, postgres_database, postgres_url

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
PACKAGE = ROOT / "vestibule"
SERVICES = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
# What the nodes and worker of compose.yaml run; the multi-node tests start the same commands.
NODE_COMMAND = ["vestibule", "serve"]
WORKER_COMMAND = ["vestibule", "worker"]
SCRIPTS = {"backup.sh", "restore.sh"}


def env_file(name: str, *, commented: bool = False) -> dict[str, str]:
    """NAME=value lines of a deploy/*.example file; `commented`: also the `# NAME=value` ones."""
    pattern = r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$"
    found = {}
    for line in (DEPLOY / name).read_text().splitlines():
        match = re.match(pattern, line.strip())
        if match and (commented or not match.group(1)):
            found[match.group(2)] = match.group(3)
    return found


def filled_in(name: str) -> dict[str, str]:
    """A deploy/*.example file as the operator fills it: each CHANGE-ME replaced."""
    secret = secrets.token_urlsafe(50)
    return {key: value.replace("CHANGE-ME", secret) for key, value in env_file(name).items()}


def containerfile_instructions(keyword: str) -> list[str]:
    """The arguments of each `keyword` instruction of the Containerfile (continued lines joined)."""
    text = re.sub(r"\\\n", " ", (DEPLOY / "Containerfile").read_text())
    return [
        line.split(None, 1)[1]
        for line in text.splitlines()
        if line.strip() and line.split(None, 1)[0] == keyword
    ]


def image_services() -> dict[str, dict]:
    """compose.yaml's services that run the portal's image."""
    return {
        name: service
        for name, service in SERVICES.items()
        if service.get("build", {}).get("dockerfile") == "deploy/Containerfile"
    }


def services_running(prefix: list[str]) -> dict[str, dict]:
    return {
        name: service
        for name, service in image_services().items()
        if service["command"][: len(prefix)] == prefix
    }


def check_vestibule_command(argv: list[str]) -> None:
    """Fail unless `argv` is a `vestibule` command that exists and accepts these arguments."""
    assert argv[0] == "vestibule", argv
    name = argv[1].replace("-", "_")  # as vestibule.cli does
    commands = get_commands()
    assert name in commands, f"`vestibule {argv[1]}` is no command of the project"
    parser = load_command_class(commands[name], name).create_parser("vestibule", name)
    try:
        parser.parse_args(argv[2:])
    except CommandError as error:
        pytest.fail(f"`{shlex.join(argv)}`: {error}")


def test_every_command_of_the_image_and_of_compose_is_a_real_vestibule_command():
    commands = [yaml.safe_load(containerfile_instructions("CMD")[-1])]
    commands += [service["command"] for service in image_services().values()]
    assert len(commands) >= 6  # CMD, migrate, two nodes, worker, backup
    for argv in commands:
        if argv[0] in SCRIPTS:
            assert any(argv[0] in copy for copy in containerfile_instructions("COPY")), argv
            continue
        check_vestibule_command(argv)


def test_the_command_check_refuses_what_does_not_exist():
    """The check above is worth something: it fails for a command or an option that is not."""
    with pytest.raises(AssertionError):
        check_vestibule_command(["vestibule", "serve-forever"])
    with pytest.raises(pytest.fail.Exception):
        check_vestibule_command(["vestibule", "serve", "--port", "8000"])


def test_compose_runs_two_nodes_a_worker_and_a_one_shot_migrate():
    assert len(services_running(NODE_COMMAND)) == 2
    assert len(services_running(WORKER_COMMAND)) == 1
    (migrate,) = services_running(["vestibule", "migrate"]).values()
    assert migrate["restart"] == "no"
    for argv in (service["command"] for service in services_running(NODE_COMMAND).values()):
        # Reachable by the proxy on the port its UPSTREAMS name.
        assert argv[argv.index("--bind") + 1] == "0.0.0.0:8000"


def test_nodes_worker_and_migrate_share_one_env_file_and_set_nothing_of_their_own():
    sharing = {
        **services_running(NODE_COMMAND),
        **services_running(WORKER_COMMAND),
        **services_running(["vestibule", "migrate"]),
    }
    assert {tuple(service["env_file"]) for service in sharing.values()} == {("vestibule.env",)}
    # A setting given to one service only would make it differ from the others.
    assert not [name for name, service in sharing.items() if "environment" in service]
    # The signing keys are files: the same volume for every one of them.
    assert {tuple(service["volumes"]) for service in sharing.values()} == {
        ("oidc-keys:/var/lib/vestibule/oidc-keys",)
    }


def test_migrate_completes_before_any_node_or_worker_starts():
    (migrate_name,) = services_running(["vestibule", "migrate"])
    waiting = {**services_running(NODE_COMMAND), **services_running(WORKER_COMMAND)}
    for name, service in waiting.items():
        condition = service["depends_on"].get(migrate_name, {}).get("condition")
        assert condition == "service_completed_successfully", name


def source_variables() -> set[str]:
    """Every environment variable the package reads, as its source names them."""
    reads = re.compile(
        r"""(?:\benv(?:_list|_bool)?\(\s*|os\.environ(?:\.get)?[(\[]\s*|["'](?=\w+["']\s+(?:not\s+)?in\s+os\.environ))["']([A-Z][A-Z0-9_]*)["']"""
    )
    names = set()
    for path in PACKAGE.rglob("*.py"):
        names.update(reads.findall(path.read_text()))
    return names


def test_every_variable_of_the_env_example_is_read_by_vestibule():
    read = source_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PORT"} <= read  # the scan finds them
    named = env_file("vestibule.env.example", commented=True)
    assert sorted(set(named) - read) == []


def test_the_env_example_holds_every_setting_production_requires(tmp_path):
    """`vestibule check` starts with exactly the example's settings: nothing required is missing."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VESTIBULE_VAR_DIR": str(tmp_path)}
    env.update(env_file("vestibule.env.example"))
    assert env["VESTIBULE_ENV"] == "production"
    # As it is, the example is refused: its placeholders are public.
    result = subprocess.run(
        [BIN / "vestibule", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "CHANGE-ME" in result.stderr
    example = filled_in("vestibule.env.example")
    env.update(example)
    result = subprocess.run(
        [BIN / "vestibule", "check"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    for required in ("SECRET_KEY", "ALLOWED_HOSTS", "VESTIBULE_BASE_URL", "EMAIL_HOST"):
        del env[required]
        result = subprocess.run(
            [BIN / "vestibule", "check"], env=env, capture_output=True, text=True, check=False
        )
        assert result.returncode == 2 and required in result.stderr
        env[required] = example[required]


def test_the_env_files_agree_with_each_other_and_with_compose():
    portal = env_file("vestibule.env.example")
    data = env_file("data.env.example")
    proxy = env_file("proxy.env.example")
    database = urlsplit(portal["DATABASE_URL"])
    assert (database.username, database.password) == ("vestibule", data["POSTGRES_PASSWORD"])
    assert database.hostname in SERVICES and database.path == "/vestibule"
    assert SERVICES[database.hostname]["environment"]["POSTGRES_USER"] == "vestibule"
    redis = urlsplit(portal["REDIS_URL"])
    assert redis.password == data["REDIS_PASSWORD"] and redis.hostname in SERVICES
    assert "," not in portal["REDIS_URL"]  # one server: Django would read counters from others
    assert proxy["SITE_ADDRESS"] == portal["VESTIBULE_BASE_URL"]
    assert urlsplit(portal["VESTIBULE_BASE_URL"]).hostname in portal["ALLOWED_HOSTS"].split(",")
    nodes = services_running(NODE_COMMAND)
    assert sorted(proxy["UPSTREAMS"].split()) == sorted(f"{name}:8000" for name in nodes)
    subnets = [item["subnet"] for item in yaml.safe_load(
        (DEPLOY / "compose.yaml").read_text()
    )["networks"]["portal"]["ipam"]["config"]]  # fmt: skip
    assert portal["VESTIBULE_TRUSTED_PROXIES"].split(",") == subnets
    assert SERVICES["proxy"]["networks"] == ["portal"]


def test_the_proxy_checks_the_file_the_image_checks():
    sys.path.insert(0, str(DEPLOY))
    try:
        import healthcheck
    finally:
        sys.path.remove(str(DEPLOY))
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert re.search(rf"health_uri {re.escape(healthcheck.PATH)}\n", caddyfile)
    assert (PACKAGE / "web/static" / healthcheck.PATH.removeprefix("/static/")).is_file()
    assert "healthcheck.py" in containerfile_instructions("HEALTHCHECK")[0]


def test_the_image_needs_no_gettext_step_since_the_catalogue_is_compiled():
    po = PACKAGE / "locale/fr/LC_MESSAGES/django.po"
    mo = po.with_suffix(".mo")
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(mo)], cwd=ROOT, capture_output=True, check=False
    )
    assert tracked.returncode == 0
    assert not [run for run in containerfile_instructions("RUN") if "compilemessages" in run]


def test_a_production_node_is_healthy_while_postgresql_and_redis_are_away(tmp_path):
    """The health check passes on a node whose database and Redis are unreachable, so their
    outage never empties the proxy's pool (members get the node's own 503 page, which
    tests/load/test_outage.py checks); it fails when the node is gone."""
    sys.path.insert(0, str(DEPLOY))
    try:
        import healthcheck
    finally:
        sys.path.remove(str(DEPLOY))
    port = free_port()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "VESTIBULE_VAR_DIR": str(tmp_path)}
    env.update(filled_in("vestibule.env.example"))
    closed = free_port()  # nothing listens there
    env.update(
        DATABASE_URL=f"postgres://vestibule:x@127.0.0.1:{closed}/vestibule",
        REDIS_URL=f"redis://:x@127.0.0.1:{closed}/0",
    )
    command = [BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not healthcheck.healthy(base) and time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read().decode()
            time.sleep(0.2)
        assert healthcheck.healthy(base)
        status = subprocess.run(
            [sys.executable, DEPLOY / "healthcheck.py", base], check=False
        ).returncode
        assert status == 0
    finally:
        server.terminate()
        server.wait(10)
    status = subprocess.run([sys.executable, DEPLOY / "healthcheck.py", base], check=False)
    assert status.returncode == 1


# Backups, against the PostgreSQL of DATABASE_URL.


@pytest.fixture
def scratch_databases():
    """Two empty databases of this test's own on DATABASE_URL's server: (source, target) URLs."""
    pid = os.getpid()
    with (
        postgres_database(f"vestibule_deploy_source_{pid}") as (_admin, source),
        postgres_database(f"vestibule_deploy_restored_{pid}") as (_admin, restored),
    ):
        yield [source, restored]


CREATE_ACCOUNT = """
import django; django.setup()
from vestibule.accounts.models import Account
account = Account(email="marie@example.org", kind="member", status="active")
account.set_password("a long enough passphrase for the drill")
account.save()
"""
CHECK_ACCOUNT = """
import django; django.setup()
from vestibule.accounts.models import Account
account = Account.objects.get(email="marie@example.org")
print(account.status, account.check_password("a long enough passphrase for the drill"),
      account.check_password("another passphrase"))
"""


@pytest.mark.skipif(not postgres_url(), reason="needs DATABASE_URL pointing at PostgreSQL")
def test_a_backup_restores_into_a_fresh_database_with_accounts_and_passwords(
    tmp_path, scratch_databases
):
    source, restored = scratch_databases
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(VESTIBULE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="vestibule.settings")
    env_source = {**env, "DATABASE_URL": source}
    subprocess.run([BIN / "vestibule", "migrate", "-v", "0"], env=env_source, check=True)
    subprocess.run([sys.executable, "-c", CREATE_ACCOUNT], env=env_source, check=True)

    backups = tmp_path / "backups"
    backups.mkdir()
    expired = backups / "vestibule-20200101T000000Z.dump"  # older than the retention
    expired.write_text("old")
    os.utime(expired, (time.time() - 15 * 86400,) * 2)
    foreign = backups / "notes.txt"  # not the script's: kept however old
    foreign.write_text("keep")
    os.utime(foreign, (time.time() - 90 * 86400,) * 2)
    backup = subprocess.run(
        ["sh", DEPLOY / "backup.sh", backups],
        env={**env_source, "BACKUP_RETENTION_DAYS": "14"},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    dump = Path(backup.stdout.strip())
    assert sorted(backups.iterdir()) == sorted([dump, foreign])
    assert re.fullmatch(r"vestibule-\d{8}T\d{6}Z\.dump", dump.name)

    restore = ["sh", DEPLOY / "restore.sh", dump]
    env_restore = {**env, "VESTIBULE": str(BIN / "vestibule")}
    done = subprocess.run(
        [*restore, restored], env=env_restore, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "(1 accounts)" in done.stdout
    checked = subprocess.run(
        [sys.executable, "-c", CHECK_ACCOUNT],
        env={**env, "DATABASE_URL": restored}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert checked.stdout.split() == ["active", "True", "False"]

    # A database that holds anything is never restored into.
    refused = subprocess.run(
        [*restore, source], env=env_restore, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2 and "not empty" in refused.stderr


@pytest.mark.skipif(not postgres_url(), reason="needs DATABASE_URL pointing at PostgreSQL")
def test_a_check_that_crashes_is_not_reported_as_an_older_dump(tmp_path, scratch_databases):
    # `migrate --check` exits 1 for "migrations to apply" and for a crash alike.
    source, restored = scratch_databases
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(VESTIBULE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="vestibule.settings")
    subprocess.run(
        [BIN / "vestibule", "migrate", "-v", "0"], env={**env, "DATABASE_URL": source}, check=True
    )
    dump = tmp_path / "source.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", source], check=True)
    crashing = {**env, "VESTIBULE": str(BIN / "vestibule"), "DJANGO_SETTINGS_MODULE": "nowhere"}
    done = subprocess.run(
        ["sh", DEPLOY / "restore.sh", dump, restored],
        env=crashing, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode not in (0, 3), done.stderr
    assert "predates" not in done.stderr
    assert "ModuleNotFoundError" in done.stderr


@pytest.mark.skipif(not postgres_url(), reason="needs DATABASE_URL pointing at PostgreSQL")
def test_a_failed_dump_leaves_no_file_and_deletes_no_old_backup(tmp_path, scratch_databases):
    backups = tmp_path / "backups"
    backups.mkdir()
    expired = backups / "vestibule-20200101T000000Z.dump"
    expired.write_text("old")
    os.utime(expired, (time.time() - 15 * 86400,) * 2)
    gone = scratch_databases[0].rsplit("/", 1)[0] + "/vestibule_deploy_no_such_database"
    failed = subprocess.run(
        ["sh", DEPLOY / "backup.sh", backups],
        env={**os.environ, "DATABASE_URL": gone, "BACKUP_RETENTION_DAYS": "14"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert list(backups.iterdir()) == [expired]
