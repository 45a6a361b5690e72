"""The embedded SQLite keeps its connections between requests, but never past a change of
the file at its path (vestibule/sqlite/base.py)."""

import os
import sqlite3
from pathlib import Path

import pytest
from django.db.utils import ConnectionHandler


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker):
    """These tests open their own files, not the test database."""
    with django_db_blocker.unblock():
        yield


def _database(path: Path, value: str) -> None:
    with sqlite3.connect(path) as database:
        database.execute("CREATE TABLE t (v TEXT)")
        database.execute("INSERT INTO t VALUES (?)", (value,))
    database.close()


def _connections(path: Path) -> ConnectionHandler:
    return ConnectionHandler(
        {
            "default": {
                "ENGINE": "vestibule.sqlite",
                "NAME": str(path),
                "CONN_MAX_AGE": 60,
                "CONN_HEALTH_CHECKS": True,
            }
        }
    )


def _request(connection) -> str:
    """What a request does: Django's check at its start, then a query."""
    connection.close_if_unusable_or_obsolete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT v FROM t")
        return cursor.fetchone()[0]


def test_a_connection_is_kept_from_one_request_to_the_next(tmp_path):
    _database(tmp_path / "portal.sqlite3", "first")
    connection = _connections(tmp_path / "portal.sqlite3")["default"]
    try:
        assert _request(connection) == "first"
        opened = connection.connection
        assert _request(connection) == "first"
        assert connection.connection is opened
    finally:
        connection.close()


def test_a_backup_moved_into_place_is_read_by_the_next_request(tmp_path):
    path = tmp_path / "portal.sqlite3"
    _database(path, "before the restore")
    _database(tmp_path / "backup.sqlite3", "the backup")
    connection = _connections(path)["default"]
    try:
        assert _request(connection) == "before the restore"
        os.replace(tmp_path / "backup.sqlite3", path)
        assert _request(connection) == "the backup"
    finally:
        connection.close()
