"""`vestibule worker`: every app's jobs, each at its interval, surviving a database restart."""

import ast
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.establishments.helpers import hotel
from tests.factories import make_account
from tests.load.server import BIN, portal_env, postgres_url, worker
from tests.load.test_outage import (  # noqa: F401 (a fixture)
    SqliteFileGone,
    postgres_through_relay,
)
from vestibule.audit.models import Event
from vestibule.establishments.models import Invitation
from vestibule.notifications.models import Message
from vestibule.notifications.services import message_enqueue
from vestibule.scheduling import Job, jobs
from vestibule.tokens.models import Token
from vestibule.tokens.services import token_issue, tokens_purge
from vestibule.web.management.commands.worker import Command

PACKAGE = Path(__file__).parents[1] / "vestibule"


def enqueue(to: str) -> Message:
    account = make_account(email=to)
    return message_enqueue(
        template="account_created",
        to=to,
        language="fr",
        context={"account": account},
        send_now=False,
    )


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.mark.django_db
def test_one_round_sends_the_outbox_and_purges_what_is_due(inbox, settings):
    settings.SESSION_ENGINE = "vestibule.accounts.session_engines.db"  # as without Redis
    waiting = enqueue("marie@example.org")
    Message.objects.create(
        template="account_created", to="old@example.org", subject="s", language="fr",
        state=Message.State.SENT, sent_at=days_ago(31),
    )  # fmt: skip
    old_event = Event.objects.create(kind="sign_in.succeeded", subject="old@example.org")
    Event.objects.filter(pk=old_event.pk).update(created_at=days_ago(366))
    _, spent = token_issue(purpose=Token.Purpose.RECOVERY, lifetime=timedelta(hours=1))
    Token.objects.filter(pk=spent.pk).update(used_at=days_ago(2))
    Session.objects.create(session_key="e" * 32, session_data="", expire_date=timezone.now())
    pending = make_account(email="never@example.org", status="pending")
    pending.__class__.objects.filter(pk=pending.pk).update(created_at=days_ago(400))

    out = StringIO()
    call_command("worker", "--once", stdout=out)

    assert inbox.wait_for("marie@example.org")
    waiting.refresh_from_db()
    assert waiting.state == Message.State.SENT
    assert list(Message.objects.values_list("to", flat=True)) == ["marie@example.org"]
    assert not Event.objects.filter(pk=old_event.pk).exists()
    assert Event.objects.get(kind="audit.purged").data["count"] == 1
    assert not Token.objects.filter(pk=spent.pk).exists()
    assert not Session.objects.exists()
    assert not pending.__class__.objects.filter(email="never@example.org").exists()
    # One line for the round, naming what each job did.
    (line,) = out.getvalue().splitlines()
    for done in ("outbox 1", "sent-messages-purge 1", "audit-retention 1", "tokens-purge 1"):
        assert done in line


@pytest.mark.django_db
def test_a_round_that_did_nothing_says_nothing():
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue() == ""


def test_every_app_declares_its_jobs_and_the_worker_runs_them_all():
    names = {job.name for job in jobs()}
    assert {
        "outbox", "logout-deliveries", "sent-messages-purge", "audit-retention", "tokens-purge",
        "coverage-invitations", "purge-unactivated", "expired-sessions",
    } <= names  # fmt: skip
    for job in jobs():
        assert callable(job.callable()) and job.every > 0


UPWARD = ("vestibule.accounts", "vestibule.oidc", "vestibule.flows", "vestibule.web")


@pytest.mark.parametrize("app", ["notifications", "audit", "tokens"])
def test_the_apps_below_import_nothing_above_them_to_be_scheduled(app):
    imported = []
    for path in (PACKAGE / app).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.append((path.name, node.module))
            elif isinstance(node, ast.Import):
                imported.extend((path.name, alias.name) for alias in node.names)
    assert [(name, module) for name, module in imported if module.startswith(UPWARD)] == []


calls: list[str] = []


def broken_job() -> int:
    calls.append("broken")
    raise ValueError("a bug in one job")


def counting_job() -> int:
    calls.append("counting")
    return 3


@pytest.mark.django_db
def test_one_failing_job_does_not_stop_the_others():
    calls.clear()
    out, err = StringIO(), StringIO()
    command = Command(stdout=out, stderr=err)
    due = [
        Job("broken", "tests.test_worker.broken_job", 60),
        Job("counting", "tests.test_worker.counting_job", 60),
    ]
    broken, unreachable = command.round(due, once=False)
    assert (broken, unreachable, calls) == (["broken"], [], ["broken", "counting"])
    assert "counting 3" in out.getvalue() and "job broken failed" in err.getvalue()


@pytest.mark.django_db
def test_once_exits_with_an_error_when_a_job_failed(settings):
    from django.apps import apps

    config = apps.get_app_config("audit")
    saved = config.jobs
    config.jobs = (*saved, Job("broken", "tests.test_worker.broken_job", 60))
    try:
        with pytest.raises(CommandError, match="broken"):
            call_command("worker", "--once", stdout=StringIO(), stderr=StringIO())
    finally:
        config.jobs = saved


@pytest.mark.django_db
def test_send_mail_is_still_the_worker(inbox):
    enqueue("marie@example.org")
    call_command("send_mail", "--once", stdout=StringIO())
    assert inbox.wait_for("marie@example.org")


@pytest.mark.django_db
def test_tokens_purge_keeps_live_recent_and_owned_tokens():
    _, live = token_issue(purpose=Token.Purpose.RECOVERY, lifetime=timedelta(hours=1))
    _, recent = token_issue(purpose=Token.Purpose.RECOVERY, lifetime=timedelta(hours=1))
    Token.objects.filter(pk=recent.pk).update(used_at=days_ago(0.5))
    _, expired = token_issue(purpose=Token.Purpose.ACTIVATION, lifetime=timedelta(hours=1))
    Token.objects.filter(pk=expired.pk).update(expires_at=days_ago(1.5))
    # An invitation shows its own state: its token goes with it, not before.
    _, owned = token_issue(purpose=Token.Purpose.INVITATION, lifetime=timedelta(hours=1))
    Token.objects.filter(pk=owned.pk).update(expires_at=days_ago(30))
    Invitation.objects.create(establishment=hotel(), email="x@example.org", token=owned)

    assert tokens_purge() == 1
    assert set(Token.objects.values_list("pk", flat=True)) == {live.pk, recent.pk, owned.pk}


# --- A real worker process, its database cut and mended --------------------------------

ENQUEUE = (
    "import django, sys; django.setup();"
    "from vestibule.notifications.services import message_enqueue;"
    "from vestibule.accounts.models import Account;"
    "account = Account.objects.get(email='marie@example.org');"
    "message_enqueue(template='account_created', to=sys.argv[1], language='fr',"
    " context={'account': account}, send_now=False)"
)


@pytest.fixture
def worker_env(tmp_path, smtp_peer) -> Iterator[dict[str, str]]:
    yield {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_peer.port), "EMAIL_TIMEOUT": "5"}


def _wait_in(path: Path, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} not in: {path.read_text()}"
        time.sleep(0.1)


def _outage_and_recovery(env: dict[str, str], tmp_path: Path, fault, inbox) -> None:
    log = tmp_path / "worker.log"
    with worker(env, log, interval=0.2) as process:
        subprocess.run([sys.executable, "-c", ENQUEUE, "first@example.org"], env=env, check=True)
        assert inbox.wait_for("first@example.org", timeout=20)
        _wait_in(log, "outbox 1")

        fault.cut()
        _wait_in(log, "database unavailable")
        assert process.poll() is None  # still running
        fault.mend()  # the worker is not restarted

        subprocess.run([sys.executable, "-c", ENQUEUE, "second@example.org"], env=env, check=True)
        assert inbox.wait_for("second@example.org", timeout=30)
        assert process.poll() is None


def test_the_worker_survives_the_sqlite_file_going_away(tmp_path, worker_env, inbox):
    env = portal_env(tmp_path, **worker_env)
    fault = SqliteFileGone(tmp_path / "vestibule-default.sqlite3")
    _outage_and_recovery(env, tmp_path, fault, inbox)


@pytest.mark.postgres
@pytest.mark.skipif(not postgres_url(), reason="needs DATABASE_URL pointing at PostgreSQL")
def test_the_worker_survives_postgresql_cut_off(
    tmp_path,
    worker_env,
    inbox,
    postgres_through_relay,  # noqa: F811
):
    url, relay = postgres_through_relay
    env = portal_env(tmp_path, DATABASE_URL=url, **worker_env)
    _outage_and_recovery(env, tmp_path, relay, inbox)


def test_the_command_line_names_the_worker():
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [BIN / "vestibule", "--help"], capture_output=True, text=True, env=environment, timeout=60
    )
    assert "  worker " in result.stdout and "  account " in result.stdout
    assert "  create-establishment " in result.stdout
