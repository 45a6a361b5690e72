"""Django's SQLite backend, with a health check that knows the file.

The embedded default keeps each thread's connection between requests (CONN_MAX_AGE):
opening one costs about a millisecond per request, and a new connection starts with a cold
page cache. But an open connection holds the file it opened, not the path: a file moved
away, or a backup moved into place, would go on being read and written through the old
one. So the health check Django runs before a request's first query (CONN_HEALTH_CHECKS)
compares the file at the path with the file the connection opened (device and inode, one
stat()); when they differ, the connection is closed and the next one opens the path
afresh, or fails with the database error that the portal answers with its 503 page.
"""

import os
from typing import Any

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    opened: tuple[int, int] | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        self.opened = self._file_at_path()
        return connection

    def is_usable(self) -> bool:
        return self.opened is None or self._file_at_path() == self.opened

    def _file_at_path(self) -> tuple[int, int] | None:
        if self.is_in_memory_db():
            return None
        try:
            status = os.stat(self.settings_dict["NAME"])
        except OSError:
            return (-1, -1)  # nothing there: not the file the connection opened
        return (status.st_dev, status.st_ino)
