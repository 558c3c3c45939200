"""Cache keys that leaves read on every context, fetched in the request's one cache round trip.

A leaf module that needs a cache value per context (for example the version stamp of the
waffle flag snapshot) declares its key with ``require_key``. Whoever builds a context for a
request (the engine's middleware) fetches ``required_keys()`` in the same ``get_many`` as its
own keys, from ``cache()``, and stores them in ``context.prefetched``. A leaf reads
``prefetched_value(context, key)``, which falls back to its own cache read when the context
was not prefetched (background jobs, plain ``Context(...)``).
"""

from __future__ import annotations

from typing import Any

from conditions import cache

_required: list[str] = []


def require_key(key: str) -> None:
    """Declare a cache key that leaves read on every context."""
    if key not in _required:
        _required.append(key)


def required_keys() -> tuple[str, ...]:
    """Return the keys to fetch with every request's cache round trip."""
    return tuple(_required)


def prefetch(context: Any, extra_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """Fetch the required keys and ``extra_keys`` in one round trip; fill ``context.prefetched``.

    Returns everything fetched (missing keys are absent), so the caller can read its own keys.
    A failing cache fetches nothing: every key is a miss.
    """
    found = cache.get_many((*extra_keys, *_required))
    context.prefetched = {key: found.get(key) for key in _required}
    return found


def prefetched_value(context: Any, key: str) -> Any:
    """Return the value of ``key`` for ``context``: prefetched when it was, else read now."""
    prefetched = context.prefetched
    if prefetched is None:
        prefetched = context.prefetched = {}
    if key not in prefetched:
        prefetched[key] = cache.get(key)
    return prefetched[key]
