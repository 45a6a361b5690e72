"""Development mail: printed on the console, and a copy kept for the /dev/mail/ page.

The outbox wipes a message's bodies once it has left, so the page that lets a developer
follow an activation link reads these copies instead: files in VAR_DIR/dev-mail/, the
newest KEPT of them, written only by this backend, which refuses to run in production.
"""

import dataclasses
import email
import email.policy
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage as ParsedMessage
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage
from django.core.mail.backends.console import EmailBackend as ConsoleBackend

KEPT = 100


@dataclasses.dataclass(frozen=True)
class DevMail:
    number: int
    to: str
    subject: str
    text: str

    @property
    def sent_at(self) -> datetime:
        return datetime.fromtimestamp(self.number / 1e9, tz=UTC)


def _folder() -> Path:
    return Path(settings.VAR_DIR) / "dev-mail"


class DevelopmentBackend(ConsoleBackend):
    """Django's console backend that also keeps each message for /dev/mail/."""

    def __init__(self, *args, **kwargs) -> None:
        if settings.PRODUCTION:
            raise ImproperlyConfigured("The development mail backend keeps live links on disk.")
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        sent = super().send_messages(email_messages)
        for message in email_messages:
            dev_mail_keep(message)
        return sent


def dev_mail_keep(message: EmailMessage) -> None:
    folder = _folder()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = message.message().as_bytes()
    number = time.time_ns()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    while True:
        try:
            descriptor = os.open(folder / f"{number}.eml", flags, 0o600)
            break
        except FileExistsError:
            number += 1
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    for old in _kept()[KEPT:]:
        old.unlink(missing_ok=True)


def _read(path: Path) -> DevMail:
    parsed: ParsedMessage = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain",))
    return DevMail(
        number=int(path.stem),
        to=str(parsed["To"]),
        subject=str(parsed["Subject"]),
        text=body.get_content() if body is not None else "",
    )


def _kept() -> list[Path]:
    """The copies, newest first."""
    paths = [path for path in _folder().glob("*.eml") if path.stem.isdigit()]
    return sorted(paths, key=lambda path: int(path.stem), reverse=True)


def dev_mail_list() -> list[DevMail]:
    """The copies kept, newest first."""
    return [_read(path) for path in _kept()[:KEPT]]


def dev_mail_get(number: int) -> DevMail | None:
    path = _folder() / f"{number}.eml"
    return _read(path) if path.is_file() else None
