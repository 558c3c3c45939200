"""Switchyard's one way to its cache: the alias ``SWITCHYARD["CACHE"]``, made fault tolerant.

The cache is an accelerator, never a single point of failure. Every call here turns a cache
error into a miss (reads) or a ``False`` (writes) and never raises. After an error the cache
is left alone for ``CACHE_RETRY_AFTER`` seconds: reads are misses and writes are skipped at
once, so a dead cache costs one (bounded) socket timeout per period, not one per request.
Each kind of failure is logged at WARNING at most once per ``CACHE_WARNING_INTERVAL``,
whatever ``DEBUG`` is.

Callers that must know whether the cache was told (an invalidation) read the boolean result;
``healthy()`` says whether the cache is usable right now.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.cache import BaseCache, caches
from django.utils.functional import cached_property

from conditions.conf import settings

logger = logging.getLogger("switchyard.cache")

_lock = threading.Lock()
_down_until = 0.0  # time.monotonic() before which the cache is not tried
_warned: dict[str, float] = {}  # kind of failure -> when it was last logged


def cache() -> BaseCache:
    """Return the raw cache alias named by ``SWITCHYARD["CACHE"]`` (errors are not caught)."""
    return caches[settings.CACHE]


def prepare() -> None:
    """Build the cache's client now, at start-up, instead of in the first request.

    Django's cache backends build their client (and import its library: ``redis`` is about
    60 modules, some 30 ms) on first use, which made that cost the first request's. This
    builds it without opening a connection (clients connect on their first command, in the
    worker: a server that forks after loading the application shares no socket). A backend
    that cannot be built is logged, as any cache failure, and the requests read the database.
    """
    try:
        backend = cache()
        if isinstance(getattr(type(backend), "_cache", None), cached_property):
            # Django's Redis and memcached backends keep their client in a cached ``_cache``.
            backend._cache  # type: ignore[attr-defined]  # noqa: B018 - building it is the point
        elif isinstance(getattr(type(backend), "client", None), property):
            backend.client  # type: ignore[attr-defined]  # noqa: B018 - django-redis's, lazy
    except Exception as error:
        failed("start", error)


def healthy() -> bool:
    """Return whether the cache may be tried now (no error in the last retry period)."""
    return time.monotonic() >= _down_until


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    """Return the values of ``keys`` that the cache holds; ``{}`` when it fails."""
    keys = list(keys)
    if not keys or not healthy():
        return {}
    try:
        return cache().get_many(keys)
    except Exception as error:
        failed("read", error)
        return {}


def get(key: str, default: Any = None) -> Any:
    """Return the value of ``key``, or ``default`` when it is absent or the cache fails."""
    if not healthy():
        return default
    try:
        return cache().get(key, default)
    except Exception as error:
        failed("read", error)
        return default


def add(key: str, value: Any, timeout: float | None) -> bool:
    """Store ``value`` unless ``key`` holds something; return whether it was stored."""
    if not healthy():
        return False
    try:
        return bool(cache().add(key, value, timeout=timeout))
    except Exception as error:
        failed("write", error)
        return False


def set_many(values: Mapping[str, Any], timeout: float | None) -> bool:
    """Store every value; return whether the cache accepted them all."""
    if not values:
        return True
    if not healthy():
        return False
    try:
        return not cache().set_many(dict(values), timeout=timeout)
    except Exception as error:
        failed("write", error)
        return False


def set(key: str, value: Any, timeout: float | None) -> bool:
    """Store ``value`` under ``key``; return whether the cache accepted it."""
    return set_many({key: value}, timeout)


def delete_many(keys: Iterable[str]) -> bool:
    """Delete ``keys``; return whether the cache was told."""
    keys = list(keys)
    if not keys:
        return True
    if not healthy():
        return False
    try:
        cache().delete_many(keys)
        return True
    except Exception as error:
        failed("delete", error)
        return False


def failed(kind: str, error: BaseException) -> None:
    """Record a cache error: leave the cache alone for a while, warn once per interval."""
    global _down_until
    now = time.monotonic()
    with _lock:
        _down_until = now + float(settings.CACHE_RETRY_AFTER)
        last = _warned.get(kind)
        due = last is None or now - last >= float(settings.CACHE_WARNING_INTERVAL)
        if due:
            _warned[kind] = now
    if due:
        logger.warning(
            "Switchyard's cache (alias %r) failed to %s: %s: %s. Reading the database instead "
            "and leaving the cache alone for %ss.",
            settings.CACHE,
            kind,
            type(error).__name__,
            error,
            settings.CACHE_RETRY_AFTER,
        )


def reset() -> None:
    """Forget past failures: try the cache again now (tests, or after a known recovery)."""
    global _down_until
    with _lock:
        _down_until = 0.0
        _warned.clear()
