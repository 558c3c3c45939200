"""A process-wide copy of every waffle flag, switch and sample, valid while its stamp is current.

waffle stays the source of truth, but asking it per flag per request costs a cache round trip
and an unpickle each. Instead, each process loads all flags (with their user and group ids),
switches and samples in one query each, and tags the copy with a *stamp*: a random token kept
in Switchyard's cache under ``STAMP_KEY``. Every context reads the stamp once (prefetched with
the request's other keys, see ``conditions.prefetch``); while it equals the copy's, the copy is
used as is. Any change to waffle's models (save, delete, users/groups added or removed) writes
a new stamp at once and again after the transaction commits, so every process sharing the
cache reloads. A missing stamp (cache cleared or expired) also means "reload".

Writes that send no signals (``queryset.update()``, raw SQL) must call ``flags_changed()``; the
stamp also expires after ``STAMP_TIMEOUT`` seconds, which bounds how stale a missed change
can be.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.signals import setting_changed
from django.db import connections, router, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from conditions.cache import cache
from conditions.context import Context
from conditions.prefetch import prefetched_value, require_key

STAMP_KEY = "switchyard:conditions:waffle-stamp"
STAMP_TIMEOUT = 10 * 60

require_key(STAMP_KEY)

SNAPSHOT = object()  # the key of the snapshot in force in Context.lookups
_lock = threading.Lock()
_current: Snapshot | None = None


def snapshot_stamp_key() -> str:
    """Return the cache key of the snapshot's stamp (already in ``required_keys()``)."""
    return STAMP_KEY


@dataclass(frozen=True, eq=False, slots=True)
class FlagEntry:
    """A loaded flag and how to evaluate it: ``context`` (``is_active_for_context``),
    ``stock`` (waffle's own rules, re-implemented on preloaded ids) or ``model`` (the model's
    overridden ``is_active``)."""

    flag: Any
    mode: str
    user_ids: frozenset[Any] = frozenset()
    group_ids: frozenset[Any] = frozenset()
    # Stock flags only, from the flag and waffle's settings at load time (a WAFFLE_* setting
    # change drops the snapshot): the answer when "everyone" decides it, and whether only
    # the user rules (no testing, languages or percent) can decide otherwise.
    static: bool | None = None
    user_rules_only: bool = False


@dataclass(frozen=True, eq=False, slots=True)
class Snapshot:
    """Every waffle flag, switch and sample of one stamp, by name."""

    stamp: str
    flags: dict[str, FlagEntry]
    switches: dict[str, Any]
    samples: dict[str, Any]
    # Loaded while this thread's transaction held uncommitted waffle changes: valid only
    # while those changes' on-commit callbacks are still pending on that connection.
    pending: tuple[Any, tuple[Callable[[], None], ...]] | None = None

    def is_current(self, stamp: Any) -> bool:
        if stamp != self.stamp:
            return False
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
        if found is None or stamp is None or not found.is_current(stamp):
            found = _reload(stamp)
            if context.prefetched is not None:
                context.prefetched[STAMP_KEY] = found.stamp
        context.lookups[SNAPSHOT] = found
    return found


def flags_changed(using: str | None = None) -> None:
    """Make every process reload waffle's data: now, and again when the transaction commits.

    Called by the signal handlers; call it yourself after writes that send no signals, such
    as ``Flag.objects.filter(...).update(...)``.
    """
    _write_stamp()
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:

        def marker() -> None:
            _write_stamp()

        marker.switchyard_snapshot = True  # type: ignore[attr-defined]
        transaction.on_commit(marker, using=using)


def forget() -> None:
    """Drop this process's snapshot (for tests); the next context reloads it."""
    global _current
    _current = None


def _write_stamp() -> str:
    stamp = uuid.uuid4().hex
    cache().set(STAMP_KEY, stamp, STAMP_TIMEOUT)
    return stamp


def _reload(stamp: Any) -> Snapshot:
    global _current
    with _lock:
        current = _current
        if current is not None and stamp is not None and current.is_current(stamp):
            return current  # another thread reloaded while we waited
        if stamp is None:
            # Read the stamp before the rows: a change committed in between bumps it again.
            fresh = uuid.uuid4().hex
            store = cache()
            stamp = fresh if store.add(STAMP_KEY, fresh, STAMP_TIMEOUT) else store.get(STAMP_KEY)
            if stamp is None:
                stamp = _write_stamp()
        _current = _load(str(stamp))
        return _current


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


def _load(stamp: str) -> Snapshot:
    from waffle import get_waffle_flag_model, get_waffle_sample_model, get_waffle_switch_model
    from waffle.utils import get_setting

    flag_model = get_waffle_flag_model()
    route = router.db_for_write if get_setting("READ_FROM_WRITE_DB") else router.db_for_read
    alias = route(flag_model) or "default"
    with public_schema():
        flags = _load_flags(flag_model, alias)
        switches = {s.name: s for s in get_waffle_switch_model().objects.using(alias)}
        samples = {s.name: s for s in get_waffle_sample_model().objects.using(alias)}
    connection = connections[alias]
    markers = tuple(
        entry[1]
        for entry in connection.run_on_commit
        if getattr(entry[1], "switchyard_snapshot", False)
    )
    pending = (connection, markers) if markers and connection.in_atomic_block else None
    return Snapshot(stamp, flags, switches, samples, pending)


def _load_flags(flag_model: Any, alias: str) -> dict[str, FlagEntry]:
    from waffle.models import AbstractBaseFlag, AbstractUserFlag
    from waffle.utils import get_setting

    queryset = flag_model.objects.using(alias)
    # A custom flag model may say what its in-memory evaluation needs loaded.
    prepare = getattr(flag_model, "snapshot_queryset", None)
    if prepare is not None:
        queryset = prepare(queryset)
    rows = list(queryset)
    members = issubclass(flag_model, AbstractUserFlag)
    user_ids = _memberships(flag_model, "users", alias) if members and rows else {}
    group_ids = _memberships(flag_model, "groups", alias) if members and rows else {}
    stock = (
        flag_model.is_active is AbstractBaseFlag.is_active
        and flag_model.is_active_for_user is AbstractUserFlag.is_active_for_user
    )
    override = bool(get_setting("OVERRIDE"))
    entries = {}
    for flag in rows:
        users = frozenset(user_ids.get(flag.pk, ()))
        groups = frozenset(group_ids.get(flag.pk, ()))
        if hasattr(flag, "is_active_for_context"):
            mode = "context"
        elif members and stock:
            mode = "stock"
        else:
            mode = "model"
        if members:
            # waffle's own methods then read the preloaded ids instead of its cache.
            flag._get_user_ids = users.copy
            flag._get_group_ids = groups.copy
        static, user_rules_only = None, False
        if mode == "stock" and not override:
            static = flag.everyone
            user_rules_only = not (flag.testing or flag.languages or flag.percent)
        entries[flag.name] = FlagEntry(flag, mode, users, groups, static, user_rules_only)
    return entries


def _memberships(flag_model: Any, field_name: str, alias: str) -> dict[Any, set[Any]]:
    field = flag_model._meta.get_field(field_name)
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    target = through._meta.get_field(field.m2m_reverse_field_name()).attname
    found: dict[Any, set[Any]] = {}
    for flag_id, member_id in through.objects.using(alias).values_list(source, target):
        found.setdefault(flag_id, set()).add(member_id)
    return found


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
