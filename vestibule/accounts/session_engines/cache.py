"""Sessions in the cache (Redis, shared by every node): Django's, a sign-in's new key
written once."""

from django.contrib.sessions.backends import cache

from vestibule.accounts.session_engines import KeyWrittenOnce


class SessionStore(KeyWrittenOnce, cache.SessionStore):
    pass
