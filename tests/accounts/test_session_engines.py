"""A sign-in's new session is written once (accounts/session_engines, issue 18): Django's
cycle_key wrote it at once, after checking its key was free, and the response wrote it
again. Database and cache engines alike; the cache engine on Redis when REDIS_URL is set."""

from importlib import import_module

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.test import Client

from tests.factories import PASSWORD, make_account
from vestibule.accounts.session_engines import KeyWrittenOnce

pytestmark = pytest.mark.django_db
ENGINES = ["vestibule.accounts.session_engines.db", "vestibule.accounts.session_engines.cache"]


def test_a_sign_in_writes_its_database_session_once(settings):
    settings.SESSION_ENGINE = ENGINES[0]
    make_account()
    browser = Client()
    writes: list[str] = []

    def watch(execute, sql, params, many, context):
        if "django_session" in sql and not sql.startswith("SELECT"):
            writes.append(sql.split()[0])
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        response = browser.post(
            "/login/", {"identifier": "marie@example.org", "password": PASSWORD}
        )
    assert response.status_code == 302
    assert writes == ["INSERT"]  # no existence check, no INSERT then UPDATE
    assert browser.get("/portal/").status_code == 200


def test_a_sign_in_writes_its_cached_session_once(settings, monkeypatch):
    settings.SESSION_ENGINE = ENGINES[1]
    make_account()
    browser = Client()
    store = import_module(ENGINES[1]).SessionStore
    calls: list[str] = []
    backend = caches[settings.SESSION_CACHE_ALIAS]  # the one the store uses in this thread
    for name in ("add", "set", "get"):
        original = getattr(backend, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            key = args[0] if args else kwargs.get("key", "")
            if str(key).startswith(store.cache_key_prefix):
                calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(backend, name, counted)
    response = browser.post("/login/", {"identifier": "marie@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert [call for call in calls if call != "get"] == ["add"]
    assert browser.get("/portal/").status_code == 200


@pytest.mark.parametrize("engine", ENGINES)
def test_a_drawn_key_already_taken_is_never_written_over(engine, settings, monkeypatch):
    settings.SESSION_ENGINE = engine
    store = import_module(engine).SessionStore
    someone = store()
    someone["who"] = "someone else"
    someone.create()
    taken = someone.session_key
    draws = iter([taken])
    real = KeyWrittenOnce._get_new_session_key

    def draw(self):
        return next(draws, None) or real(self)

    monkeypatch.setattr(KeyWrittenOnce, "_get_new_session_key", draw)
    mine = store()
    mine["who"] = "me"
    mine.cycle_key()
    assert mine.session_key == taken  # drawn, not yet written
    mine.save()
    assert mine.session_key != taken
    assert store(taken).load() == {"who": "someone else"}
    assert store(mine.session_key).load() == {"who": "me"}
    cache.clear()
