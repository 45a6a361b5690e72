"""The outbox: e-mails are written in the caller's transaction and sent after commit.

After commit, a thread of its own sends them, so no page waits for the SMTP server: how
long a page takes never tells whether it sent an e-mail (a reset asked for an unknown
address sends none). What that thread cannot send stays in the outbox for `send-mail`.

States READY → SENDING → SENT, or back to READY with a back-off. Only a server's
permanent refusal (an SMTP 5xx answer) ends in FAILED, after MAX_ATTEMPTS; while the
server is unreachable or answers 4xx, the message waits, however long the outage. A
sender that dies mid-send leaves SENDING; such a message is claimed again after
CLAIM_TIMEOUT, and sent with the same Message-ID, so that a copy the server had taken
before the sender died is recognisable as the same message. Several senders may run:
claims use SKIP LOCKED.

Bodies are sealed in the table (sealing.py) and opened only by the sender; a SENT or
FAILED message keeps its recipient, subject, template and dates, not its bodies.
"""

import logging
import re
import smtplib
from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone, translation

from vestibule.batches import delete_in_batches
from vestibule.config import get_profile
from vestibule.contrast import PORTAL_ACCENT
from vestibule.notifications.models import Message
from vestibule.notifications.sealing import InvalidToken, body_seal
from vestibule.queues import backoff, claim_due, in_background

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12
CLAIM_TIMEOUT = timedelta(minutes=10)


def message_enqueue(
    *,
    template: str,
    to: str,
    language: str,
    context: dict[str, Any],
    send_now: bool = True,
    language_known: bool = True,
) -> Message:
    """Render `template` in `language` and put it in the outbox.

    Templates: notifications/<template>.subject.txt, .txt and .html. Call inside the
    transaction of the change the e-mail reports, so both commit or neither does.
    `language_known=False` (an invitation to an address with no account yet): under a
    profile with `[email] bilingual = true`, the body gets a second part in the other language.
    """
    profile = get_profile()
    context = {
        "profile": profile,
        "base_url": settings.VESTIBULE_BASE_URL,
        # Inline in the e-mail's buttons: mail readers apply no stylesheet and no CSP.
        "brand_colour": profile.brand.colour or PORTAL_ACCENT,
        **context,
    }
    subject, text, html = _render(template, language, context)
    other = next((code for code in profile.languages if code != language), None)
    if not language_known and profile.email.bilingual and other:
        _, other_text, other_html = _render(template, other, context)
        text = f"{text}\n\n{'-' * 20} {other.upper()} {'-' * 20}\n\n{other_text}"
        html = html.replace(
            "</body>", f'<hr><div lang="{other}">{_html_body(other_html)}</div></body>'
        )
    message = Message.objects.create(
        template=template,
        to=to,
        subject=subject,
        sealed_text=body_seal(text),
        sealed_html=body_seal(html),
        language=language,
    )
    if send_now:
        transaction.on_commit(
            lambda: in_background(messages_send, [message.pk], name="vestibule-mail")
        )
    return message


def _render(template: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Subject (naming the organisation, so the inbox says who writes), text and HTML."""
    with translation.override(language):
        subject = " ".join(
            render_to_string(f"notifications/{template}.subject.txt", context).split()
        )
        organisation = str(context["profile"].organisation.name)
        context = {"identifier_label": context["profile"].identifier_word, **context}
        return (
            f"{subject} · {organisation}",
            render_to_string(f"notifications/{template}.txt", context),
            render_to_string(f"notifications/{template}.html", context),
        )


def _html_body(html: str) -> str:
    match = re.search(r"<body[^>]*>(.*)</body>", html, re.DOTALL)
    return match.group(1) if match else html


def sender(language: str) -> str:
    """From: the organisation's name (in `language`) and DEFAULT_FROM_EMAIL's address."""
    with translation.override(language):
        name = str(get_profile().organisation.name)
    return formataddr((name, parseaddr(settings.DEFAULT_FROM_EMAIL)[1]))


def _domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


def _deliver(message: Message, connection: Any) -> None:
    """Open the sealed bodies (here only) and hand the e-mail to SMTP."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text(),
        from_email=sender(message.language),
        to=[message.to],
        connection=connection,
        headers={"Message-ID": message.message_id(_domain())},
    )
    html = message.html()
    if html:
        email.attach_alternative(html, "text/html")
    email.send()


# What stays of a message once it has left or been given up: who, what, when, never the
# bodies, whose links and codes may still be live.
WIPED = {"sealed_text": "", "sealed_html": ""}


def refused_for_good(error: Exception) -> bool:
    """An SMTP 5xx answer (for every recipient): retrying the same message will not help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    code = getattr(error, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def _postpone(message: Message, error: Exception) -> None:
    attempts = message.attempts + 1
    given_up = refused_for_good(error) and attempts >= MAX_ATTEMPTS
    state = Message.State.FAILED if given_up else Message.State.READY
    Message.objects.filter(pk=message.pk).update(
        **(WIPED if given_up else {}),
        state=state,
        attempts=attempts,
        next_attempt_at=timezone.now() + backoff(attempts),
        claimed_at=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    log.warning("mail to %s not sent (attempt %d): %s", message.to, attempts, error)


def _give_up_unreadable(message: Message) -> None:
    Message.objects.filter(pk=message.pk).update(
        **WIPED,
        state=Message.State.FAILED,
        claimed_at=None,
        last_error="sealed with a key no longer configured (SECRET_KEY_FALLBACKS)",
    )
    log.error("mail to %s given up: sealed with a key no longer configured", message.to)


def messages_send(*, ids: Iterable[int] | None = None, limit: int = 100) -> tuple[int, int]:
    """Send due messages (or only `ids`); return (sent, failed). Never raises on SMTP errors."""
    claimed = claim_due(Message.objects, claim_timeout=CLAIM_TIMEOUT, limit=limit, ids=ids)
    if not claimed:
        return 0, 0
    sent = failed = 0
    connection = get_connection(fail_silently=False)
    try:
        for position, message in enumerate(claimed):
            try:
                _deliver(message, connection)
            except InvalidToken:
                # Sealed with a key neither SECRET_KEY nor SECRET_KEY_FALLBACKS holds any more:
                # no retry can open it, and the server is not at fault (the batch goes on).
                failed += 1
                _give_up_unreadable(message)
                continue
            except Exception as error:  # any SMTP or network failure: keep it for later
                failed += 1
                _postpone(message, error)
                # The server refused or is unreachable: the rest waits for the next round
                # instead of each waiting for its own time-out.
                rest = [m.pk for m in claimed[position + 1 :]]
                Message.objects.filter(pk__in=rest).update(
                    state=Message.State.READY, claimed_at=None
                )
                break
            sent += 1
            Message.objects.filter(pk=message.pk).update(
                **WIPED,
                state=Message.State.SENT,
                attempts=message.attempts + 1,
                sent_at=timezone.now(),
                last_error="",
            )
    finally:
        try:
            connection.close()
        except Exception:  # closing a dead connection must not hide the result
            log.debug("closing the mail connection failed", exc_info=True)
    return sent, failed


def messages_send_round() -> int:
    """The worker's outbox job: send what is due, batch after batch, until none is left or
    the server refuses (the rest waits for the next round); return how many were tried."""
    tried = 0
    while True:
        sent, failed = messages_send()
        tried += sent + failed
        if failed or not sent:
            return tried


def messages_purge_sent(*, now: datetime | None = None) -> int:
    """Delete the messages that left (or were given up) longer ago than the profile's
    `retention.sent_messages_days`; return how many. Their bodies are already wiped: what
    goes is who was written to, about what, when."""
    cutoff = (now or timezone.now()) - timedelta(days=get_profile().retention.sent_messages_days)
    # A given-up message has no sent_at: its last attempt dates it.
    left = Q(state=Message.State.SENT, sent_at__lt=cutoff) | Q(
        state=Message.State.FAILED, next_attempt_at__lt=cutoff
    )
    return delete_in_batches(Message.objects.filter(left))
