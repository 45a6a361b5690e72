"""Sessions in the database (no Redis): Django's, a sign-in's new key written once."""

from django.contrib.sessions.backends import db

from vestibule.accounts.session_engines import KeyWrittenOnce


class SessionStore(KeyWrittenOnce, db.SessionStore):
    pass
