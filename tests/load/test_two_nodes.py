"""Issue 18: two serving nodes and two workers on one PostgreSQL and one Redis.

The processes are those deploy/compose.yaml runs — `vestibule serve` twice (each with its
own directory and port, the same SECRET_KEY), `vestibule worker` twice — against a
database of the test's own on DATABASE_URL's server and a redis-server of the test's own.
One browser reaches both nodes, as behind a load balancer (cookies ignore ports).
"""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
import pytest
import redis

from tests.load.faults import REDIS_SERVER, RedisServer, TcpRelay
from tests.load.server import (
    BIN,
    PASSWORD,
    THRESHOLD,
    attempt,
    browser,
    check_burst,
    csrf_token,
    fetch,
    free_port,
    portal_env,
    postgres_database,
    postgres_url,
    running,
    worker,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not postgres_url(), reason="needs DATABASE_URL pointing at PostgreSQL"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary"),
]

SIGNED_IN = 'data-testid="name-menu"'


@dataclass
class Cluster:
    a: str  # base URL of node A
    b: str  # base URL of node B
    env: dict[str, str]  # node A's environment (B's differs only by its directory)
    database: str  # the shared database's URL
    redis_url: str
    relay: TcpRelay  # between the nodes and PostgreSQL

    def audit(self) -> list[str]:
        """The kinds of sign-in events, in order, from the shared database."""
        with psycopg.connect(self.database) as connection:
            rows = connection.execute(
                "SELECT kind FROM audit_event WHERE kind IN "
                "('sign_in.failed', 'account.locked', 'sign_in.succeeded') ORDER BY id"
            )
            return [kind for (kind,) in rows]

    def reset(self) -> None:
        """Marie unlocked, no event, no counter, no session: each test starts clean."""
        with psycopg.connect(self.database, autocommit=True) as connection:
            connection.execute("UPDATE accounts_account SET locked_at = NULL")
            connection.execute("DELETE FROM audit_event")
            connection.execute("DELETE FROM notifications_message")
        redis.Redis.from_url(self.redis_url).flushall()


def serve(env: dict[str, str]):
    port = free_port()
    command = [BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    return running(command, env, port)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    var = tmp_path_factory.mktemp("cluster")
    (var / "a").mkdir()
    (var / "b").mkdir()
    cache = RedisServer(var)
    cache.start()
    try:
        with postgres_database(f"vestibule_nodes_{os.getpid()}") as (admin, url):
            # The nodes reach PostgreSQL through a relay that a test cuts; the tests read it
            # directly.
            relay = TcpRelay((admin["host"], admin["port"]))
            relay.start()
            relayed = url.replace(f"{admin['host']}:{admin['port']}", f"127.0.0.1:{relay.port}")
            shared = {"DATABASE_URL": relayed, "REDIS_URL": cache.url, "SECRET_KEY": "x" * 50}
            env_a = portal_env(var / "a", **shared)  # migrates, creates marie@example.org
            env_b = {**env_a, "VESTIBULE_VAR_DIR": str(var / "b")}
            with serve(env_a) as a, serve(env_b) as b:
                yield Cluster(a, b, env_a, url, cache.url, relay)
            relay.cut()
    finally:
        cache.stop()


@pytest.fixture
def nodes(cluster: Cluster) -> Cluster:
    cluster.reset()
    return cluster


# --- Counters: lockout and address blocks are the cluster's, not a node's --------------------


def test_five_wrong_passwords_split_across_the_nodes_lock_the_account(nodes):
    outcomes = [attempt((nodes.a, nodes.b)[i % 2], "wrong password here") for i in range(5)]
    assert outcomes == ["invalid"] * (THRESHOLD - 1) + ["locked"]
    assert attempt(nodes.a, PASSWORD) == "locked"
    assert attempt(nodes.b, PASSWORD) == "locked"


def test_twenty_parallel_wrong_guesses_on_two_nodes_evaluate_five(nodes):
    check_burst([nodes.a, nodes.b], nodes.audit, 20, right_at=None)


def test_the_right_password_in_a_burst_on_two_nodes_is_never_accepted_after_the_lock(nodes):
    check_burst([nodes.a, nodes.b], nodes.audit, 20, right_at=11)


def test_an_address_blocked_on_one_node_is_blocked_on_the_other(nodes):
    visitors = {base: browser("en") for base in (nodes.a, nodes.b)}
    tokens = {base: csrf_token(visitor, base) for base, visitor in visitors.items()}
    statuses = []
    for i in range(40):  # the default profile blocks an address after 30 failures
        base = (nodes.a, nodes.b)[i % 2]
        fields = {
            "identifier": f"stranger{i}@example.org",
            "password": "wrong password here",
            "csrfmiddlewaretoken": tokens[base],
        }
        statuses.append(fetch(visitors[base], f"{base}/login/", fields)[0])
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429 and statuses.count(200) == 30, statuses
    blocked_on = (nodes.a, nodes.b)[(len(statuses) - 1) % 2]
    other = nodes.b if blocked_on == nodes.a else nodes.a
    fields = {"identifier": "marie@example.org", "password": PASSWORD}
    status, _headers, body = fetch(
        visitors[other], f"{other}/login/", {**fields, "csrfmiddlewaretoken": tokens[other]}
    )
    assert status == 429, body[:300]
    assert SIGNED_IN not in body and '<html lang="en">' in body


# --- Sessions live in Redis: opened on one node, seen and ended on the other -----------------


def test_a_session_opened_on_one_node_works_on_the_other_and_signing_out_ends_it_on_both(nodes):
    member = browser("fr")
    fields = {"identifier": "marie@example.org", "password": PASSWORD}
    token = csrf_token(member, nodes.a)
    status, _headers, body = fetch(
        member, f"{nodes.a}/login/", {**fields, "csrfmiddlewaretoken": token}
    )
    assert status == 200 and SIGNED_IN in body
    status, _headers, body = fetch(member, f"{nodes.b}/portal/")
    assert status == 200 and SIGNED_IN in body and "Portail des membres" in body

    page = fetch(member, f"{nodes.a}/portal/")[2]
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    fetch(member, f"{nodes.a}/logout/", {"csrfmiddlewaretoken": token})
    status, _headers, body = fetch(member, f"{nodes.b}/portal/")
    assert SIGNED_IN not in body and 'name="password"' in body  # back on the sign-in page


# --- The outbox with two workers ---------------------------------------------------------------

ENQUEUE = (
    "import django, sys; django.setup();"
    "from vestibule.notifications.services import message_enqueue;"
    "from vestibule.accounts.models import Account;"
    "account = Account.objects.get(email='marie@example.org');"
    "[message_enqueue(template='account_created', to=to, language='fr',"
    " context={'account': account}, send_now=False) for to in sys.argv[1:]]"
)


def enqueue(env: dict[str, str], *addresses: str) -> None:
    subprocess.run([sys.executable, "-c", ENQUEUE, *addresses], env=env, check=True)


def states(cluster: Cluster) -> list[str]:
    with psycopg.connect(cluster.database) as connection:
        return [s for (s,) in connection.execute("SELECT state FROM notifications_message")]


@pytest.fixture
def mail_env(nodes, smtp_peer) -> dict[str, str]:
    return {
        **nodes.env,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_peer.port),
        "EMAIL_TIMEOUT": "5",
    }


def test_two_workers_send_each_message_of_the_outbox_once(nodes, mail_env, inbox, tmp_path):
    addresses = [f"member{i}@example.org" for i in range(40)]
    with worker(mail_env, tmp_path / "w1.log"), worker(mail_env, tmp_path / "w2.log"):
        for start in range(0, len(addresses), 4):  # a trickle, so both workers find some
            enqueue(mail_env, *addresses[start : start + 4])
        deadline = time.monotonic() + 60
        while states(nodes) != ["sent"] * len(addresses):
            assert time.monotonic() < deadline, states(nodes)
            time.sleep(0.2)
        time.sleep(1)  # a duplicate would have arrived by now
    for address in addresses:
        assert len(inbox.to(address)) == 1, address


def test_a_worker_killed_mid_send_leaves_the_message_to_the_other_under_one_message_id(
    nodes, mail_env, inbox, tmp_path
):
    # The SMTP server takes the message but does not answer yet.
    with inbox.held(), worker(mail_env, tmp_path / "killed.log") as first:
        enqueue(mail_env, "late@example.org")
        assert inbox.arrived.wait(30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    # The server had not answered: it drops what a vanished client sent (as aiosmtpd and
    # most servers do before their final 250). The outbox still says « sending », its claim
    # held by a worker that is gone.
    time.sleep(0.5)
    assert states(nodes) == ["sending"] and not inbox.to("late@example.org")
    # Ten minutes later (CLAIM_TIMEOUT), the other worker takes the claim over.
    with psycopg.connect(nodes.database, autocommit=True) as connection:
        connection.execute(
            "UPDATE notifications_message SET claimed_at = claimed_at - interval '11 minutes'"
        )
        (pk,) = connection.execute("SELECT id FROM notifications_message").fetchone()
    with worker(mail_env, tmp_path / "other.log"):
        deadline = time.monotonic() + 30
        while states(nodes) != ["sent"]:
            assert time.monotonic() < deadline, states(nodes)
            time.sleep(0.1)
    time.sleep(0.5)
    (copy,) = inbox.to("late@example.org")
    # Had the server kept the first copy, this one would carry the same Message-ID: mail
    # systems know it as the same message (RFC 5322 §3.6.4).
    assert copy["Message-ID"].endswith(f".{pk}.vestibule@localhost>")


# --- A node killed in the middle of requests ----------------------------------------------

MEMBERS = (
    "import django, sys; django.setup();"
    "from vestibule.registry.models import Member;"
    "count, first_digit, name = int(sys.argv[1]), sys.argv[2], sys.argv[3];"
    "[Member.objects.create(kind='member', code=f'{first_digit}{i:05d}',"
    " email=f'{name}{i}@example.org') for i in range(count)]"
)
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)"')
SIGN_UPS = 8  # and as many retries at most: under the 20 sign-ups an address may make


def members_add(env: dict[str, str], count: int, first_digit: str, name: str) -> None:
    """Registry members {name}0@example.org… with codes {first_digit}00000…"""
    command = [sys.executable, "-c", MEMBERS, str(count), first_digit, name]
    subprocess.run(command, env=env, check=True)


def prepared_sign_up(base: str, number: int, first_digit: str = "9", name: str = "new"):
    """A member's browser on the sign-up form of `base`; the result posts it to a node."""
    member = browser("fr")
    page = fetch(member, f"{base}/flow/registration/start/")[2]
    fields = {
        **dict(HIDDEN.findall(page)),
        "is_member": "on",
        "email": f"{name}{number}@example.org",
        "code": f"{first_digit}{number:05d}",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    return lambda node: fetch(member, f"{node}/flow/registration/", fields)


def test_a_node_killed_mid_sign_up_leaves_each_account_whole_and_the_retry_finishes_it(
    nodes, tmp_path
):
    members_add(nodes.env, SIGN_UPS, "9", "new")
    port = free_port()
    doomed = f"http://127.0.0.1:{port}"
    env = {**nodes.env, "VESTIBULE_VAR_DIR": str(tmp_path)}
    command = [BIN / "vestibule", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    node = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                fetch(browser("fr"), f"{doomed}/help/")
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        posts = [prepared_sign_up(doomed, n) for n in range(SIGN_UPS)]
        answers: list = [None] * SIGN_UPS

        def post(n: int) -> None:
            try:
                answers[n] = posts[n](doomed)[0]
            except OSError:  # the node died under this request
                answers[n] = None

        threads = [threading.Thread(target=post, args=(n,)) for n in range(SIGN_UPS)]
        for thread in threads:
            thread.start()
        time.sleep(0.05)  # some answered, some in the middle of their hash or their commit
        os.killpg(node.pid, signal.SIGKILL)  # the whole node: gunicorn and its workers
        for thread in threads:
            thread.join(30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(node.pid, signal.SIGKILL)
        node.wait(10)

    # The browser sends the form again, and the balancer takes it to the other node: it
    # waits for the dead node's hold on that answer to lapse (views.ANSWER_LOCK_SECONDS),
    # then signs up, or shows what the first try did.
    assert None in answers
    with ThreadPoolExecutor(SIGN_UPS) as pool:
        lost = [n for n in range(SIGN_UPS) if not answers[n]]
        retried = list(pool.map(lambda n: posts[n](nodes.b), lost))
    for status, _headers, body in retried:
        assert status == 200 and "Votre demande a bien été reçue" in body, body[:300]
    with psycopg.connect(nodes.database) as connection:
        accounts = connection.execute(
            "SELECT email, status, password <> '' FROM accounts_account "
            "WHERE email LIKE 'new%%' ORDER BY email"
        ).fetchall()
        mailed = connection.execute(
            'SELECT "to", count(*) FROM notifications_message WHERE "to" LIKE \'new%%\' '
            'GROUP BY "to"'
        ).fetchall()
    # Each sign-up happened once, whole: its account with its password, and its e-mail.
    assert sorted(email for email, *_ in accounts) == sorted(
        f"new{n}@example.org" for n in range(SIGN_UPS)
    )
    assert all(status == "pending" and has_password for _e, status, has_password in accounts)
    assert {to for to, _count in mailed} == {email for email, *_ in accounts}


def test_postgresql_cut_under_load_answers_503_and_the_nodes_recover_without_a_restart(nodes):
    members_add(nodes.env, 4, "8", "cut")
    forms = [prepared_sign_up(nodes.a, n, "8", "cut") for n in range(4)]
    # Members keep signing in on both nodes the whole time.
    stop = threading.Event()
    seen: list[tuple[bool, int, str]] = []  # (during the cut, status, page)
    cut = threading.Event()

    def load(index: int) -> None:
        node = (nodes.a, nodes.b)[index % 2]
        while not stop.is_set():
            member = browser("fr")
            status, _headers, page = fetch(member, f"{node}/login/")
            seen.append((cut.is_set(), status, page))
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            if token:
                fields = {"identifier": "marie@example.org", "password": PASSWORD}
                fields["csrfmiddlewaretoken"] = token.group(1)
                status, _headers, body = fetch(member, f"{node}/login/", fields)
                seen.append((cut.is_set(), status, body))

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        nodes.relay.cut()
        cut.set()
        during = [post((nodes.a, nodes.b)[n % 2]) for n, post in enumerate(forms)]
        time.sleep(1)
        cut.clear()
        nodes.relay.mend()  # the nodes are not restarted
        deadline = time.monotonic() + 20
        while attempt(nodes.b, PASSWORD) != "ok":
            assert time.monotonic() < deadline, "the nodes did not recover"
            time.sleep(0.2)
        after = [post((nodes.b, nodes.a)[n % 2]) for n, post in enumerate(forms)]
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)

    # During the cut: the clear page in the member's language, never a server error.
    for status, headers, body in during:
        assert status == 503 and headers["Retry-After"] == "30", (status, body[:300])
        assert "Service temporairement indisponible" in body
    statuses = {status for _during, status, _body in seen}
    assert statuses <= {200, 503}, statuses
    assert any(status == 503 for during_cut, status, _ in seen if during_cut)
    # After: the same forms, sent again, sign up; each account is whole, with its e-mail.
    for status, _headers, body in after:
        assert status == 200 and "Votre demande a bien été reçue" in body, body[:300]
    with psycopg.connect(nodes.database) as connection:
        rows = connection.execute(
            "SELECT a.email, a.password <> '', count(m.id) FROM accounts_account a "
            'LEFT JOIN notifications_message m ON m."to" = a.email '
            "WHERE a.email LIKE 'cut%%' GROUP BY a.email, a.password ORDER BY a.email"
        ).fetchall()
    assert [(email, True, 1) for email in sorted(f"cut{n}@example.org" for n in range(4))] == [
        (email, has_password, mails) for email, has_password, mails in rows
    ]
