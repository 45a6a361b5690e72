"""Counters on the Django cache, shared by every web node when the cache is Redis.

A rate is written as data, as django-allauth does: `Rate(limit=5, period=300)`.

On Redis, a hit and a give-back are each one script, which Redis runs whole (time stands
still inside it): Django's `incr()` is EXISTS then INCRBY, so a window that ended between
the two left a counter with no expiry, counting an address or an account for ever, and a
hit took three round trips. The keys are the cache's own (`make_key`), so `count()`,
`clear()` and the cache's `get()` read what the scripts write.
"""

import dataclasses
import hashlib
import time

from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache

_HIT = """
redis.call('SET', KEYS[1], 0, 'EX', ARGV[1], 'NX')
return redis.call('INCR', KEYS[1])
"""
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local left = redis.call('DECRBY', KEYS[1], ARGV[1])
if left < 0 then redis.call('INCRBY', KEYS[1], -left) end
return left
"""


@dataclasses.dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


def _key(scope: str, subject: str) -> str:
    # Hash the subject: identifiers typed by strangers never become raw cache keys.
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"throttle:{scope}:{digest}"


def _on_redis(script: str, key: str, argument: int) -> int | None:
    """Run `script` on the cache's Redis for `key`: its answer, or None when the cache is
    not Redis. The client comes from the cache's own pool (`_cache.get_client`, the
    backend's, not documented: the tests on Redis in CI tell if a Django upgrade moves it)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    key = backend.make_key(key)
    server = backend._cache.get_client(key, write=True)
    return int(server.register_script(script)(keys=[key], args=[argument]))


def hit(scope: str, subject: str, rate: Rate) -> int:
    """Count one event for `subject` in the current window; return the count."""
    key = _key(scope, subject)
    counted = _on_redis(_HIT, key, rate.period)
    if counted is not None:
        return counted
    cache.add(key, 0, timeout=rate.period)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=rate.period)
        return 1


def reserve_or_wait(scope: str, subject: str, rate: Rate) -> int:
    """Reserve one event in `subject`'s window: 0 when reserved, else the seconds left until
    the window ends (a refusal is given back, so refusals do not pile up)."""
    window = _key(f"{scope}:window", subject)
    if hit(scope, subject, rate) <= rate.limit:
        cache.add(window, time.time() + rate.period, timeout=rate.period)
        return 0
    give_back(scope, subject)
    until = cache.get(window)
    return max(1, int(until - time.time())) if until else rate.period


def give_back(scope: str, subject: str, amount: int = 1) -> None:
    """Undo `amount` hits (atomically; never below zero, a vanished counter stays gone).

    With hit() this makes a reservation: hit() before the guarded check (a password hash,
    a code comparison) so parallel requests can never all pass a check-then-count gap, and
    give_back() when the reserved attempt turns out not to count (a right password).
    """
    if amount <= 0:
        return
    key = _key(scope, subject)
    if _on_redis(_GIVE_BACK, key, amount) is not None:
        return
    try:
        if cache.decr(key, amount) < 0:
            cache.incr(key, -cache.get(key, 0))
    except ValueError:  # expired or forgotten meanwhile: nothing left to give back
        pass


def count(scope: str, subject: str) -> int:
    return int(cache.get(_key(scope, subject), 0))


def clear(scope: str, subject: str) -> None:
    cache.delete(_key(scope, subject))


def clear_many(pairs: list[tuple[str, str]]) -> None:
    """clear() of several (scope, subject) pairs in one round trip to the cache."""
    cache.delete_many([_key(scope, subject) for scope, subject in pairs])


def exceeded(scope: str, subject: str, rate: Rate) -> bool:
    return count(scope, subject) >= rate.limit


def blocks(scope: str) -> str:
    """The scope under which block() keeps the blocks of `scope` (to clear them)."""
    return f"{scope}:until"


def block(scope: str, subject: str, seconds: int) -> None:
    """Mark `subject` blocked until now + seconds."""
    cache.set(_key(blocks(scope), subject), time.time() + seconds, timeout=seconds)


def blocked_for(scope: str, subject: str) -> int:
    """Seconds left on a block of `subject`, 0 when not blocked."""
    until = cache.get(_key(blocks(scope), subject))
    return max(0, int(until - time.time())) if until else 0
