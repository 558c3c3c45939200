"""Generation numbers in PostgreSQL: how every process notices a change the cache missed.

Each write of a schema's selections bumps that schema's generation in the table
``engine_generation`` of the public schema, in the write's own transaction. Cached selections
carry the generation they were loaded at. Every process polls the table at most once per
``STALENESS_BOUND`` seconds (one small query: the rows changed since its last poll, the whole
table the first time) and keeps the newest generation of each scope in memory; a cached entry
older than that is a miss. So a lost invalidation (the cache down or unreachable at write time,
a failing commit hook) or a cache restored from an old snapshot is served for at most about
``STALENESS_BOUND`` seconds once the cache answers again, with no manual step.

A process that reads a scope from the database learns its committed generation too and
corrects its memory with it, so a generation seen inside a transaction that rolled back cannot
make a scope look stale forever.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from conditions.conf import settings
from engine import tenancy

logger = logging.getLogger("switchyard.engine")

TABLE = "engine_generation"
# A transaction that commits longer than this after bumping a generation could be missed by
# a poll: polls re-read this much of the past.
POLL_OVERLAP = datetime.timedelta(seconds=60)

_lock = threading.Lock()
_latest: dict[str, int] = {}
_polled_at: datetime.datetime | None = None  # the database's clock at the last poll
_next_poll = 0.0  # time.monotonic() of the next poll


def scope_of(schema: str) -> str:
    """Return the generation scope of ``schema``'s selections."""
    return f"selections:{schema}"


def table(using: str = DEFAULT_DB_ALIAS) -> str:
    """Return the quoted, schema-qualified generation table (always the public one)."""
    return tenancy.quoted_table(TABLE, tenancy.public_schema(), using)


def bump(scope: str, using: str = DEFAULT_DB_ALIAS) -> int:
    """Raise ``scope``'s generation inside the current transaction; return the new one."""
    sql = (
        f"INSERT INTO {table(using)} AS g (scope, seq, changed_at) "
        "VALUES (%s, 1, clock_timestamp()) ON CONFLICT (scope) DO UPDATE "
        "SET seq = g.seq + 1, changed_at = clock_timestamp() RETURNING seq"
    )
    with connections[using].cursor() as cursor:
        cursor.execute(sql, [scope])
        (seq,) = cursor.fetchone()
    return int(seq)


def subquery(using: str = DEFAULT_DB_ALIAS) -> str:
    """Return SQL for ``scope``'s committed generation (0 if never bumped); one ``%s``."""
    return f"COALESCE((SELECT seq FROM {table(using)} WHERE scope = %s), 0)"


def latest(scope: str, using: str = DEFAULT_DB_ALIAS) -> int:
    """Return the newest generation of ``scope`` this process knows (polling when due)."""
    if time.monotonic() >= _next_poll:
        refresh(using)
    return _latest.get(scope, 0)


def learned(scope: str, seq: int) -> None:
    """Record the generation of ``scope`` just read from the database (the committed truth)."""
    _latest[scope] = seq


def refresh(using: str = DEFAULT_DB_ALIAS) -> None:
    """Poll the generation table now (another thread already polling: return at once)."""
    global _next_poll, _polled_at
    if not _lock.acquire(blocking=False):
        return
    try:
        _next_poll = time.monotonic() + float(settings.STALENESS_BOUND)
        rows, polled_at = _poll(_polled_at, using)
        for scope, seq in rows:
            _latest[scope] = max(seq, _latest.get(scope, 0))
        _polled_at = polled_at
    except Exception as error:  # the database answers the request's own queries; log it
        logger.warning("Switchyard could not poll the generation table: %s", error)
    finally:
        _lock.release()


def _poll(
    polled_at: datetime.datetime | None, using: str
) -> tuple[list[tuple[str, int]], datetime.datetime]:
    if not connections[using].in_atomic_block:
        return _changed_since(polled_at, using)
    # A savepoint: a failed poll must not abort the caller's transaction.
    with transaction.atomic(using=using):
        return _changed_since(polled_at, using)


def _changed_since(
    polled_at: datetime.datetime | None, using: str
) -> tuple[list[tuple[str, int]], datetime.datetime]:
    # One query whatever it finds: the extra row carries the clock when nothing changed.
    sql = f"SELECT scope, seq, clock_timestamp() FROM {table(using)}"
    params: list[Any] = []
    if polled_at is not None:
        sql += " WHERE changed_at > %s"
        params.append(polled_at - POLL_OVERLAP)
    sql += " UNION ALL SELECT NULL, NULL, clock_timestamp()"
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # The earliest clock reading: a poll never claims to have seen past what it read.
    now = min(row[2] for row in rows)
    return [(scope, int(seq)) for scope, seq, _ in rows if scope is not None], now


def forget() -> None:
    """Forget everything polled (tests): the next ``latest()`` polls the whole table."""
    global _next_poll, _polled_at
    with _lock:
        _latest.clear()
        _polled_at = None
        _next_poll = 0.0
