"""Django's session engines (database, cache), with a sign-in's new session written once.

At every sign-in Django's `cycle_key` checks that a new key is free, saves the session
under it at once, and the response then saves it again with the signed-in account: three
round trips to the store, and on SQLite two write transactions, where one will do. Here
`cycle_key` draws the new key without the check and leaves the writing to the first save,
which creates the row (a key already taken, 165 random bits, would be refused there like
any duplicate, and create() draws another). SESSION_ENGINE names `.db` or `.cache`.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, SessionBase
from django.utils.crypto import get_random_string


class KeyWrittenOnce(SessionBase):
    _unwritten = False  # the key was drawn by cycle_key and is not in the store yet

    def _get_new_session_key(self) -> str:
        # No exists() first: saving under a key must_create refuses a taken one.
        return get_random_string(32, VALID_KEY_CHARS)

    def cycle_key(self) -> None:
        data = self._session
        key = self.session_key
        self._session_key = self._get_new_session_key()
        self._unwritten = True
        self._session_cache = data
        self.modified = True
        if key:
            self.delete(key)

    def save(self, must_create: bool = False) -> None:
        if not self._unwritten:
            return super().save(must_create=must_create)
        self._unwritten = False
        try:
            super().save(must_create=True)
        except CreateError:
            self.create()  # the drawn key was taken: another, checked the usual way
