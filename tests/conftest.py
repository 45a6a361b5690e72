"""Shared fixtures: a real SMTP peer (aiosmtpd on loopback), profiles, language, a clean cache."""

import asyncio
import contextlib
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client


class Inbox:
    """What the SMTP peer received, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.open = threading.Event()
        self.open.set()
        self.arrived = threading.Event()  # a DATA has come in (held or not)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """The server takes mail but answers no DATA until the block ends (a slow server)."""
        self.open.clear()
        try:
            yield
        finally:
            self.open.set()

    async def handle_DATA(self, server, session, envelope) -> str:
        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.open.wait)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
        self.arrived.clear()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in m["To"].lower()]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no {count} e-mail(s) to {address} within {timeout}s")

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpPeer:
    """An aiosmtpd server on loopback that tests can stop and start again on the same port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = _free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="session")
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer()
    peer.start()
    yield peer
    peer.stop()


@pytest.fixture(autouse=True)
def inbox(settings, smtp_peer: SmtpPeer) -> Iterator[Inbox]:
    """Every test sends real SMTP to the loopback peer."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_peer.port
    settings.EMAIL_TIMEOUT = 5
    if smtp_peer.controller is None:
        smtp_peer.start()
    smtp_peer.inbox.clear()
    yield smtp_peer.inbox


@pytest.fixture(autouse=True)
def clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def use_profile(settings):
    """use_profile("physicians") switches the active profile for this test."""

    def switch(name: str) -> None:
        settings.VESTIBULE_PROFILE = name

    return switch


@pytest.fixture
def english_client() -> Client:
    client = Client()
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def admin_user(db, django_user_model):
    """pytest-django's, with a password the policy accepts: create_superuser applies it."""
    return django_user_model.objects.create_superuser(
        "admin@example.com", "an admin passphrase long enough"
    )


@pytest.fixture
def hashes(monkeypatch):
    """Counts password hashes computed (verify and encode), from every thread."""
    from vestibule.accounts.hashers import VestibuleArgon2Hasher

    calls = []
    for name in ("verify", "encode"):
        original = getattr(VestibuleArgon2Hasher, name)

        def counted(self, *args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(VestibuleArgon2Hasher, name, counted)
    return calls
