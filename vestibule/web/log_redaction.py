"""E-mailed keys kept out of the logs.

Activation, reset and invitation links carry their single-use key in the URL path
(/flow/<name>/resume/<key>/, /establishments/invitations/<key>/). An access log, or
Django's "Not Found: <path>" warnings, would otherwise hand a live key to whoever reads
the logs. Every line that leaves through gunicorn's loggers (`vestibule serve`) or
Django's logging passes through `secrets_redact`.
"""

import logging
import re

from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "[redacted]"
_SLASH = r"(?:/|%2F)"
# The segment after /resume/ or /invitations/ (a number there is an invitation's id, kept)…
_KEY_AFTER = re.compile(
    rf"({_SLASH}(?:resume|invitations){_SLASH})(?!\d+(?:/|%2F|$))[^/?#&\s\"'%]+", re.IGNORECASE
)
# …and any path segment long and random enough to be a key, wherever a URL puts one.
_LONG_SEGMENT = re.compile(rf"({_SLASH})[A-Za-z0-9_-]{{22,}}(?=[/?#&\s\"'%]|$)", re.IGNORECASE)


def secrets_redact(text: str) -> str:
    """`text` with every key-like URL segment replaced by [redacted]."""
    text = _KEY_AFTER.sub(lambda match: match.group(1) + REDACTED, text)
    return _LONG_SEGMENT.sub(lambda match: match.group(1) + REDACTED, text)


class SecretsRedactingFilter(logging.Filter):
    """A logging filter that rewrites each record's message through secrets_redact."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = secrets_redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = SecretsRedactingFilter()


class RedactingLogger(GunicornLogger):
    """gunicorn's logger (`--logger-class`) whose access and error lines are redacted."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        self.access_log.addFilter(_FILTER)
        self.error_log.addFilter(_FILTER)
