"""Reading the platform state: a part of the flag snapshot, so it is read like the flags.

The rows of ``engine_strategystate`` (public schema) are one more JSON column of the flag
snapshot's single query (``conditions.snapshot.register_part``). They share its stamp, which
every request already fetches in its one cache round trip, and its digest revalidation within
``STALENESS_BOUND``: a warm request costs no query and no extra cache call, a change reaches
every process at its next request (or within the bound when the cache missed the new stamp).
"""

from __future__ import annotations

import logging
import time
from types import MappingProxyType
from typing import Any

from django.core.exceptions import SynchronousOnlyOperation

from conditions import Condition, Context, parse
from conditions import snapshot as snapshot_module
from conditions.snapshot import flags_changed, register_part, snapshot
from engine import tenancy
from engine.platform.state import NO_PLATFORM_STATE, PlatformEntry, PlatformState, Status

logger = logging.getLogger("switchyard.engine")

PART = "engine.platform"
TABLE = "engine_strategystate"


def platform_state(context: Context) -> PlatformState:
    """Return the platform state in force for ``context`` (from the snapshot it uses).

    When the snapshot cannot be loaded (the database fails), the last state this process
    loaded is used, however old; a process that never loaded one has none (every strategy
    active) until the database answers. Logged once per interval.
    """
    found: snapshot_module.Snapshot | None
    try:
        found = snapshot(context)
    except SynchronousOnlyOperation:
        raise  # an async caller must hop to a thread (see engine.namespace)
    except Exception as error:
        found = snapshot_module.last_loaded()
        _warn(error, found is not None)
        if found is None:
            return NO_PLATFORM_STATE
    state: PlatformState = found.parts.get(PART, NO_PLATFORM_STATE)
    return state


_warned_at = float("-inf")
WARNING_INTERVAL = 60.0


def _warn(error: Exception, kept: bool) -> None:
    global _warned_at
    now = time.monotonic()
    if now - _warned_at < WARNING_INTERVAL:
        return
    _warned_at = now
    logger.warning(
        "Switchyard could not load the platform state (%s); %s",
        error,
        "the last one loaded is used" if kept else "every strategy counts as active meanwhile",
    )


def state_changed(using: str | None = None) -> None:
    """Make every process reload the platform state: now, and when the transaction commits."""
    flags_changed(using)


def register() -> None:
    """Load the platform state with every flag snapshot (called from ``AppConfig.ready``)."""
    register_part(PART, _sql, build)


def _sql(alias: str) -> str:
    table = tenancy.quoted_table(TABLE, tenancy.public_schema(), alias)
    row = "json_build_array(registry, slug, status, priority, note, scope)"
    return f"(SELECT coalesce(json_agg({row} ORDER BY registry, slug), '[]') FROM {table})"


def build(rows: list[list[Any]]) -> PlatformState:
    """Return the ``PlatformState`` of the rows ``[registry, slug, status, priority, note,
    scope]`` (an unknown status counts as disabled, a scope that does not parse as everyone)."""
    entries: dict[str, dict[str, PlatformEntry]] = {}
    for registry, slug, status, priority, note, scope in rows:
        entry = PlatformEntry(
            registry,
            slug,
            _status(registry, slug, status),
            None if priority is None else int(priority),
            note or "",
            _scope(registry, slug, scope),
        )
        entries.setdefault(registry, {})[slug] = entry
    return PlatformState(MappingProxyType({k: MappingProxyType(v) for k, v in entries.items()}))


def _status(registry: str, slug: str, value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        # Only raw SQL can store one; holding the strategy back is the safe reading.
        logger.warning("Platform state of %s.%s has unknown status %r", registry, slug, value)
        return Status.DISABLED


def _scope(registry: str, slug: str, text: str | None) -> Condition | None:
    if not text:
        return None
    try:
        return parse(text)
    except Exception as error:  # a kind no longer registered: the state holds for everyone
        logger.warning(
            "Platform state of %s.%s: scope %r does not parse (%s); it applies to every tenant",
            registry,
            slug,
            text,
            error,
        )
        return None
