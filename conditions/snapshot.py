"""A process-wide copy of every waffle flag, switch and sample, fresh within a bound whatever fails.

waffle stays the source of truth, but asking it per flag per request costs a cache round trip
and an unpickle each. Instead each process loads every flag (with its users' and groups' ids),
switch and sample in **one query**, and tags the copy with a *stamp*: a random token kept in
Switchyard's cache under ``STAMP_KEY``. Every context reads the stamp once (prefetched with
the request's other keys, see ``conditions.prefetch``); while it equals the copy's, the copy
is used as is. Any change to waffle's models (save, delete, users/groups added or removed)
writes a new stamp at once and again after the transaction commits, so every process sharing
the cache reloads on its next request. A missing stamp (evicted, flushed) means "reload".

The cache is never trusted alone (``SWITCHYARD["STALENESS_BOUND"]``, 10 s by default):

- A copy older than the bound is revalidated against the database: one query returns a
  digest of the same rows, computed by PostgreSQL; the copy is reloaded only when it differs.
  So a change whose stamp never reached the cache (the writer could not reach it, the cache
  restarted from an old snapshot holding an old stamp, ``queryset.update()`` without
  ``flags_changed()``) is served by every process within the bound. At most one query per
  process per bound; a reload after such a miss also writes a new stamp for the others.
- While the cache cannot be read, the last good copy stays in use (never "everything off"),
  revalidated the same way at most once per bound; a process without one loads it.
- ``flags_changed()`` never raises: a save commits and returns; a stamp that could not be
  written is logged once per interval (``conditions.cache``) and this process reloads anyway.

Other apps' platform-wide rows that must be read like the flags (the engine's platform strategy
state) ride along as *parts* (``register_part``): one more JSON column of the same query,
covered by the same digest and stamp, so they cost no query and no cache call when warm either.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connections, router, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from conditions import cache
from conditions.conf import settings
from conditions.context import Context
from conditions.prefetch import prefetched_value, require_key
from conditions.waffle_rules import FlagEntry, waffle_setting

STAMP_KEY = "switchyard:conditions:waffle-stamp"

require_key(STAMP_KEY)

SNAPSHOT = object()  # the key of the snapshot in force in Context.lookups
_lock = threading.Lock()
_current: Snapshot | None = None
_monotonic = time.monotonic


def snapshot_stamp_key() -> str:
    """Return the cache key of the snapshot's stamp (already in ``required_keys()``)."""
    return STAMP_KEY


@dataclass(frozen=True, eq=False, slots=True)
class Snapshot:
    """Every waffle flag, switch and sample, as loaded under one stamp."""

    stamp: str | None  # None: loaded while the cache could not be read
    flags: dict[str, FlagEntry]
    switches: dict[str, Any]
    samples: dict[str, Any]
    fingerprint: str  # the database's digest of the rows it was loaded from
    trusted_until: float  # time.monotonic() until which it is used without asking the database
    # Loaded while this thread's transaction held uncommitted waffle changes: valid only
    # while those changes' on-commit callbacks are still pending on that connection.
    pending: tuple[Any, tuple[Callable[[], None], ...]] | None = None
    # What each registered part built from its rows (see register_part), by name.
    parts: dict[str, Any] = dataclass_field(default_factory=dict)

    def is_current(self, stamp: Any) -> bool:
        """Return whether the copy may serve a context that read ``stamp`` from the cache."""
        return stamp is not None and stamp == self.stamp and self.trusted()

    def trusted(self) -> bool:
        """Return whether the copy is within the bound and not left behind by a transaction."""
        return time.monotonic() < self.trusted_until and self.visible()

    def visible(self) -> bool:
        """Return whether this thread sees the rows the copy holds, uncommitted ones included."""
        if self.pending is None:
            return True
        connection, markers = self.pending
        if connection is not connections[connection.alias]:  # another thread's transaction
            return False
        waiting = {id(entry[1]) for entry in connection.run_on_commit}
        return all(id(marker) in waiting for marker in markers)


def snapshot(context: Context) -> Snapshot:
    """Return the snapshot in force for ``context`` (checked once per context)."""
    found: Snapshot | None = context.lookups.get(SNAPSHOT)
    if found is None:
        stamp = prefetched_value(context, STAMP_KEY)
        found = _current
        # is_current(), inline: this runs for every context.
        if (
            found is None
            or stamp is None
            or stamp != found.stamp
            or found.pending is not None
            or _monotonic() >= found.trusted_until
        ):
            found = _refresh(stamp)
            if context.prefetched is not None:
                context.prefetched[STAMP_KEY] = found.stamp
        context.lookups[SNAPSHOT] = found
    return found


def flags_changed(using: str | None = None) -> None:
    """Make every process reload waffle's data: now, and again when the transaction commits.

    Called by the signal handlers; call it yourself after writes that send no signals, such
    as ``Flag.objects.filter(...).update(...)``. Never raises: when the cache cannot be told,
    this process reloads anyway and every other one within ``STALENESS_BOUND``.
    """
    _new_stamp()
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:

        def marker() -> None:
            _new_stamp()

        marker.switchyard_snapshot = True  # type: ignore[attr-defined]
        transaction.on_commit(marker, using=using)


@dataclass(frozen=True, slots=True)
class Part:
    """Rows of another app loaded with the flags: ``sql(alias)`` is one JSON value, ``build``
    turns its decoded form into what ``Snapshot.parts[name]`` holds."""

    name: str
    sql: Callable[[str], str]
    build: Callable[[Any], Any]


_parts: dict[str, Part] = {}


def register_part(name: str, sql: Callable[[str], str], build: Callable[[Any], Any]) -> None:
    """Load the rows ``sql`` selects with every snapshot, under the same stamp and digest.

    Their writers call ``flags_changed()`` like waffle's do. The tables must be in the same
    database as waffle's (the snapshot's one query reads them all).
    """
    _parts[name] = Part(name, sql, build)
    forget()


def last_loaded() -> Snapshot | None:
    """Return the snapshot this process last loaded, however old (None: none yet)."""
    return _current


def forget() -> None:
    """Drop this process's snapshot (for tests); the next context reloads it."""
    global _current
    _current = None


def _new_stamp() -> None:
    if not cache.set(STAMP_KEY, uuid.uuid4().hex, None):
        # The other processes find out within the bound; this one at its next context.
        _distrust()


def _distrust() -> None:
    global _current
    with _lock:
        if _current is not None:
            _current = replace(_current, trusted_until=0.0)


def _refresh(stamp: Any) -> Snapshot:
    if stamp is None and not cache.healthy():
        current = _current
        if current is not None and current.trusted():
            return current  # the cache is down: the last good copy, within the bound
    with _lock:
        current = _current
        if current is not None and current.is_current(stamp):
            return current  # another thread refreshed it while this one waited
        if stamp is None and cache.healthy():
            stamp = _claim_stamp()  # missing: evicted, flushed, or never written
        if stamp is None:
            if current is not None and current.trusted():
                return current  # the cache failed meanwhile: keep the last good copy
            return _install(_revalidated(current, None))
        if current is not None and stamp == current.stamp:
            return _install(_revalidated(current, stamp))  # the bound has passed
        return _install(_load(stamp))


def _claim_stamp() -> str | None:
    # Claimed before the rows are read: a change committed in between bumps it again.
    fresh = uuid.uuid4().hex
    if cache.add(STAMP_KEY, fresh, None):
        return fresh
    found = cache.get(STAMP_KEY)  # another process claimed it first
    if found is None and cache.healthy():  # and it vanished again at once
        return fresh if cache.set(STAMP_KEY, fresh, None) else None
    return None if found is None else str(found)


def _revalidated(current: Snapshot | None, stamp: str | None) -> Snapshot:
    """Return ``current`` trusted for another bound if the database still holds its rows,
    else a fresh load (under a new stamp, when the cache took ``stamp`` for current)."""
    alias = _alias()
    if current is not None and _fingerprint(alias) == current.fingerprint:
        return replace(current, trusted_until=_deadline(), pending=_pending(alias))
    if stamp is not None and current is not None and current.visible():
        # The cache's stamp did not change with the rows (a write's stamp was lost): a new
        # one makes every other process reload now rather than within the bound. (Not for
        # a copy of another transaction's uncommitted rows, or of rolled-back ones.)
        fresh = uuid.uuid4().hex
        stamp = fresh if cache.set(STAMP_KEY, fresh, None) else None
    return _load(stamp)


def _install(found: Snapshot) -> Snapshot:
    global _current
    _current = found
    return found


def _deadline() -> float:
    return time.monotonic() + float(settings.STALENESS_BOUND)


def public_schema() -> contextlib.AbstractContextManager[Any]:
    """Return a context manager switching to the public schema under django-tenants."""
    # waffle lives in the public schema under django-tenants; plain Django needs nothing.
    if apps.is_installed("django_tenants"):
        from django.db import connection
        from django_tenants.utils import get_public_schema_name, schema_context

        public = get_public_schema_name()
        if getattr(connection, "schema_name", public) != public:
            return schema_context(public)
    return contextlib.nullcontext()


# Loading: one query ---------------------------------------------------------------------

# The digest of the rows' JSON text: what revalidation compares, without sending the rows.
_DIGEST = "encode(sha256(convert_to(doc, 'UTF8')), 'hex')"


def _models() -> tuple[Any, Any, Any]:
    from waffle import get_waffle_flag_model, get_waffle_sample_model, get_waffle_switch_model

    return get_waffle_flag_model(), get_waffle_switch_model(), get_waffle_sample_model()


def _alias() -> str:
    flag_model = _models()[0]
    route = router.db_for_write if waffle_setting("READ_FROM_WRITE_DB") else router.db_for_read
    return route(flag_model) or "default"


def _load(stamp: str | None) -> Snapshot:
    flag_model, switch_model, sample_model = _models()
    alias = _alias()
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT doc, {_DIGEST} FROM (SELECT {_document(alias)} AS doc) rows")
        document, fingerprint = cursor.fetchone()
    flags, users, groups, switches, samples, *extra = json.loads(document, parse_float=Decimal)
    user_ids, group_ids = _members(users), _members(groups)
    entries = {}
    for flag in _instances(flag_model, alias, flags):
        members = frozenset(user_ids.get(flag.pk, ())), frozenset(group_ids.get(flag.pk, ()))
        entries[flag.name] = FlagEntry.load(flag, *members)
    return Snapshot(
        stamp,
        entries,
        {switch.name: switch for switch in _instances(switch_model, alias, switches)},
        {sample.name: sample for sample in _instances(sample_model, alias, samples)},
        fingerprint,
        _deadline(),
        _pending(alias),
        {part.name: part.build(rows) for part, rows in zip(_parts.values(), extra, strict=True)},
    )


def _fingerprint(alias: str) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {_DIGEST} FROM (SELECT {_document(alias)} AS doc) rows")
        return str(cursor.fetchone()[0])


def _document(alias: str) -> str:
    """Return SQL for one JSON text of every waffle row: flags, their users' and groups' ids
    (pairs), switches, samples, each in primary key order (the same rows, the same text)."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        raise ImproperlyConfigured(
            f"Switchyard loads waffle's flags with PostgreSQL's JSON functions; database "
            f"{alias!r} is {connection.vendor}."
        )
    from waffle.models import AbstractUserFlag

    flag_model, switch_model, sample_model = _models()
    none = "'[]'::json"
    users = groups = none
    if issubclass(flag_model, AbstractUserFlag):
        users, groups = _pairs(flag_model, "users", alias), _pairs(flag_model, "groups", alias)
    parts = [_rows(flag_model, alias), users, groups]
    parts += [_rows(switch_model, alias), _rows(sample_model, alias)]
    parts += [part.sql(alias) for part in _parts.values()]
    return f"json_build_array({', '.join(parts)})::text"


def _rows(model: Any, alias: str) -> str:
    order = connections[alias].ops.quote_name(model._meta.pk.column)
    return f"(SELECT coalesce(json_agg(t ORDER BY t.{order}), '[]') FROM {_table(model, alias)} t)"


def _pairs(flag_model: Any, field_name: str, alias: str) -> str:
    quote = connections[alias].ops.quote_name
    field = flag_model._meta.get_field(field_name)
    through = field.remote_field.through
    source = quote(through._meta.get_field(field.m2m_field_name()).column)
    target = quote(through._meta.get_field(field.m2m_reverse_field_name()).column)
    order = quote(through._meta.pk.column)
    return (
        f"(SELECT coalesce(json_agg(json_build_array(m.{source}, m.{target}) "
        f"ORDER BY m.{order}), '[]') FROM {_table(through, alias)} m)"
    )


def _table(model: Any, alias: str) -> str:
    # Schema-qualified under django-tenants (waffle's tables live in the public schema), so
    # the load reads the right tables whatever search_path the connection has.
    quote = connections[alias].ops.quote_name
    table = quote(model._meta.db_table)
    if apps.is_installed("django_tenants"):
        from django_tenants.utils import get_public_schema_name

        return f"{quote(get_public_schema_name())}.{table}"
    return table


def _instances(model: Any, alias: str, rows: list[dict[str, Any]]) -> list[Any]:
    # Model instances as the ORM builds them (from_db), from the JSON text of their columns.
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    return [
        model.from_db(alias, names, [field.to_python(row[field.column]) for field in fields])
        for row in rows
    ]


def _members(pairs: list[list[Any]]) -> dict[Any, set[Any]]:
    found: dict[Any, set[Any]] = {}
    for flag_id, member_id in pairs:
        found.setdefault(flag_id, set()).add(member_id)
    return found


def _pending(alias: str) -> tuple[Any, tuple[Callable[[], None], ...]] | None:
    connection = connections[alias]
    markers = tuple(
        entry[1]
        for entry in connection.run_on_commit
        if getattr(entry[1], "switchyard_snapshot", False)
    )
    return (connection, markers) if markers and connection.in_atomic_block else None


# Invalidation ---------------------------------------------------------------------------

_bases: tuple[type, ...] | None = None


def _waffle_bases() -> tuple[type, ...]:
    global _bases
    if _bases is None:
        from waffle.models import AbstractBaseFlag, AbstractBaseSample, AbstractBaseSwitch

        _bases = (AbstractBaseFlag, AbstractBaseSwitch, AbstractBaseSample)
    return _bases


def _saved_or_deleted(sender: Any, using: str | None = None, **kwargs: Any) -> None:
    if isinstance(sender, type) and issubclass(sender, _waffle_bases()):
        flags_changed(using)


def _members_changed(
    sender: Any, instance: Any, action: str, model: Any, using: str | None = None, **kwargs: Any
) -> None:
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    flag_base = _waffle_bases()[0]
    if isinstance(instance, flag_base) or (
        isinstance(model, type) and issubclass(model, flag_base)
    ):
        flags_changed(using)


def _waffle_setting_changed(*, setting: str, **kwargs: Any) -> None:
    # A test swapping WAFFLE_FLAG_MODEL & co. needs the flags of the new model.
    if setting.startswith("WAFFLE_"):
        forget()


# Connected for every model (the flag model is swappable and only known once apps are
# ready); the handlers return at once for anything that is not waffle's.
post_save.connect(_saved_or_deleted, dispatch_uid="switchyard.conditions.snapshot.saved")
post_delete.connect(_saved_or_deleted, dispatch_uid="switchyard.conditions.snapshot.deleted")
m2m_changed.connect(_members_changed, dispatch_uid="switchyard.conditions.snapshot.members")
setting_changed.connect(_waffle_setting_changed, dispatch_uid="switchyard.conditions.waffle")
