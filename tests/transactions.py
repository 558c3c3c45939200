"""``committed()``: what a commit does to ``on_commit`` callbacks, inside a rolled-back test.

Tests run in a transaction that never commits, so ``on_commit`` callbacks stay pending; the
engine reads the database, and caches nothing, while the open transaction has uncommitted
selection writes. ``django_capture_on_commit_callbacks(execute=True)`` runs the callbacks but
leaves them registered; ``committed()`` runs them and forgets them, as a real commit does.
``settled()`` also lets the invalidation markers expire, as ``INVALIDATION_GRACE`` seconds do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from conditions import cache as switchyard_cache

# Where Django logs a failing robust callback at a real commit.
logger = logging.getLogger("django.db.backends.base")


@contextmanager
def committed(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the ``on_commit`` callbacks registered in the block, then forget them."""
    connection = connections[using]
    start = len(connection.run_on_commit)
    yield
    while len(connection.run_on_commit) > start:
        _savepoints, callback, robust = connection.run_on_commit.pop(start)
        if not robust:
            callback()
            continue
        try:
            callback()
        except Exception as error:
            logger.error(
                "Error calling %s in on_commit() (%s).", callback.__qualname__, error, exc_info=True
            )


@contextmanager
def settled(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Commit the block's writes, then let their invalidation markers expire (a cold cache)."""
    with committed(using):
        yield
    switchyard_cache.cache().clear()


def choices(entry: Any) -> Any:
    """Return the choices of a cached selections entry (it also holds their generation)."""
    return entry[1] if isinstance(entry, tuple) else entry
