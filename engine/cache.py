"""The cache of stored selections: explicit per-schema keys, and invalidation bound at write time.

Keys are built here, not by the alias' key function: ``switchyard:<version>:selections:<schema>``
holds the tenant's choices and ``...:<schema>:user:<pk>`` one user's, so a new release never
reads an old release's values and no schema ever reads another's entry (user pk 1 exists in
every tenant schema).

A write computes its keys in the schema it writes to and invalidates them when its transaction
commits, even if the connection has moved to another schema by then. An invalidated key holds
a marker for ``INVALIDATION_GRACE`` seconds instead of disappearing: readers fill the cache
only with ``add``, which the marker refuses, so a reader that loaded the rows just before the
commit cannot put the old value back (the stale-set race of delete-based invalidation).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.cache import BaseCache, caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from conditions.prefetch import prefetch
from engine.conf import settings

logger = logging.getLogger("switchyard.engine")

# The schema name used in keys when there is no django-tenants: the only schema there is.
PLAIN_SCHEMA = "public"
# What an invalidated key holds; a reader treats it as a miss but may not replace it.
INVALIDATED = "switchyard:invalidated"
INVALIDATION_GRACE = 10


@functools.cache
def package_version() -> str:
    """Return the installed version of django-switchyard (read once)."""
    try:
        return importlib.metadata.version("django-switchyard")
    except importlib.metadata.PackageNotFoundError:  # running from a bare checkout
        return "0"


def selections_cache() -> BaseCache:
    """Return the cache alias named by ``SWITCHYARD["CACHE"]``."""
    return caches[settings.CACHE]


def key_for(schema: str, user_pk: Any = None) -> str:
    """Return the key of ``schema``'s tenant choices, or of one user's choices in it."""
    key = f"switchyard:{package_version()}:selections:{schema}"
    return key if user_pk is None else f"{key}:user:{user_pk}"


def current_schema(using: str = DEFAULT_DB_ALIAS) -> str:
    """Return the schema the connection is on (``PLAIN_SCHEMA`` without django-tenants)."""
    return getattr(connections[using], "schema_name", None) or PLAIN_SCHEMA


@contextmanager
def in_schema(schema: str, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block with the connection on ``schema``; a no-op without django-tenants.

    Also used around cache calls: an alias keyed by ``django_tenants.cache.make_key`` prefixes
    keys with the schema active at call time.
    """
    connection: Any = connections[using]  # django-tenants' wrapper, when installed
    if not hasattr(connection, "set_schema") or connection.schema_name == schema:
        yield
        return
    previous = connection.tenant
    connection.set_schema(schema)
    try:
        yield
    finally:
        if previous is None:
            connection.set_schema_to_public()
        else:
            connection.set_tenant(previous)


def fetch(context: Any, keys: tuple[str, ...], schema: str, using: str) -> dict[str, Any]:
    """Get ``keys`` and the conditions' required keys in one round trip; fill the context's.

    A cache that fails counts as a miss (the database answers); the error is logged.
    """
    try:
        with in_schema(schema, using):
            return prefetch(context, keys)
    except Exception as error:
        logger.warning("Switchyard's cache failed to read (%s); reading the database", error)
        return {}


def fill(values: Mapping[str, Any], schema: str, using: str) -> None:
    """Cache ``values`` where their keys are absent (never over an invalidation marker)."""
    cache = selections_cache()
    try:
        with in_schema(schema, using):
            for key, value in values.items():
                cache.add(key, value, timeout=settings.CACHE_TIMEOUT)
    except Exception as error:
        logger.warning("Switchyard's cache failed to store selections (%s)", error)


class Invalidation:
    """Keys of one schema to invalidate when the transaction that changed them commits."""

    def __init__(self, schema: str, keys: Iterable[str], using: str) -> None:
        self.schema = schema
        self.keys = frozenset(keys)
        self.using = using

    def run(self) -> None:
        with in_schema(self.schema, self.using):
            marker = dict.fromkeys(self.keys, INVALIDATED)
            selections_cache().set_many(marker, timeout=INVALIDATION_GRACE)

    def __repr__(self) -> str:
        return f"Invalidation({self.schema!r}, {sorted(self.keys)!r})"


def invalidate_on_commit(schema: str, keys: Iterable[str], using: str) -> None:
    """Invalidate ``keys`` of ``schema`` once the current transaction commits (now without one)."""
    # robust: a cache outage after the commit is logged; the write itself has happened.
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
