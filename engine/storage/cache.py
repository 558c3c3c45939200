"""The cache of stored selections: explicit per-schema keys, invalidation bound at write time.

Keys are built here, not by the alias' key function: ``switchyard:<version>:selections:<schema>``
holds the tenant's choices and ``...:<schema>:user:<pk>`` one user's, so a new release never
reads an old release's values and no schema ever reads another's entry (user pk 1 exists in
every tenant schema). A value is ``(generation, choices)``: see ``engine.storage.generations``.

A write computes its keys in the schema it writes to and invalidates them when its transaction
commits, even if the connection has moved to another schema by then. An invalidated key holds
a marker for ``INVALIDATION_GRACE`` seconds instead of disappearing: readers fill the cache
only with ``add``, which the marker refuses, so a reader that loaded the rows just before the
commit cannot put the old value back (the stale-set race of delete-based invalidation).

Every call goes through ``conditions.cache``: a cache that fails is a miss, never an error.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, transaction

from conditions import cache
from engine import tenancy
from engine.conf import settings

# What an invalidated key holds; a reader treats it as a miss but may not replace it.
INVALIDATED = "switchyard:invalidated"
INVALIDATION_GRACE = 10

# Writes this process committed (counted when their invalidation runs): values fetched before
# one of them may be older than the request's own write, so they are not used (reads.py).
_committed = 0


def committed_writes() -> int:
    """Return how many selection writes this process has committed (any schema)."""
    return _committed


@functools.cache
def package_version() -> str:
    """Return the installed version of django-switchyard (read once)."""
    try:
        return importlib.metadata.version("django-switchyard")
    except importlib.metadata.PackageNotFoundError:  # running from a bare checkout
        return "0"


def key_for(schema: str, user_pk: Any = None) -> str:
    """Return the key of ``schema``'s tenant choices, or of one user's choices in it."""
    key = f"switchyard:{package_version()}:selections:{schema}"
    return key if user_pk is None else f"{key}:user:{user_pk}"


def fill(values: Mapping[str, Any], *, replace: Iterable[str] = ()) -> None:
    """Cache ``values`` where their keys are absent (never over an invalidation marker).

    Keys in ``replace`` held a value found stale: they are overwritten.
    """
    replace = set(replace)
    stale = {key: value for key, value in values.items() if key in replace}
    cache.set_many(stale, timeout=settings.CACHE_TIMEOUT)
    for key, value in values.items():
        if key not in replace:
            cache.add(key, value, timeout=settings.CACHE_TIMEOUT)


class Invalidation:
    """Keys of one schema to invalidate when the transaction that changed them commits."""

    def __init__(self, schema: str, keys: Iterable[str], using: str) -> None:
        self.schema = schema
        self.keys = frozenset(keys)
        self.using = using

    def run(self) -> None:
        global _committed
        _committed += 1
        # In the schema written to: an alias keyed by django_tenants.cache.make_key prefixes
        # keys with the schema active at call time. A cache that cannot be told is logged by
        # conditions.cache; the generation bumped with the write bounds how long the old
        # value can be served.
        with tenancy.in_schema(self.schema, self.using):
            cache.set_many(dict.fromkeys(self.keys, INVALIDATED), timeout=INVALIDATION_GRACE)

    def __repr__(self) -> str:
        return f"Invalidation({self.schema!r}, {sorted(self.keys)!r})"


def invalidate_on_commit(schema: str, keys: Iterable[str], using: str) -> None:
    """Invalidate ``keys`` of ``schema`` once the current transaction commits (now without one)."""
    transaction.on_commit(Invalidation(schema, keys, using).run, using=using, robust=True)


def pending(keys: Iterable[str], using: str) -> bool:
    """Return whether the open transaction changed one of ``keys`` and has not committed yet."""
    connection = connections[using]
    if not connection.in_atomic_block:
        return False
    keys = set(keys)
    for entry in connection.run_on_commit:  # (savepoint ids, callback, robust)
        owner = getattr(entry[1], "__self__", None)
        if isinstance(owner, Invalidation) and not keys.isdisjoint(owner.keys):
            return True
    return False
