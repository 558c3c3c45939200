"""Reading what a tenant (and its user) stored: the request's one cache round trip.

``stored_selections(context)`` fetches the tenant's key, the user's key (for an authenticated
user) and ``conditions.prefetch.required_keys()`` in one ``get_many``, and memoises the result
on the context so every registry of a request shares it. A miss, a stale entry (older than the
schema's generation) or a failing cache costs one SQL query. That query names the schema's
table itself instead of trusting the connection's ``search_path``, so a transaction-pooling
PgBouncer cannot make it read another tenant's rows, and nothing read from the wrong schema
can enter the cache.

A request routed by ``tenants.middleware.CachedTenantMiddleware`` makes that round trip even
earlier: the middleware fetches ``ahead_keys(schema, user_pk)`` for the schema it predicts, in
the same ``get_many`` as the host's routing entry, and hands the values over with
``fetched_ahead``. The first read of the request takes them (once, and only for that very
schema) instead of calling the cache again. ``user_pk`` is the user ``session_users`` predicts
behind the request's session cookie: that user's value is used only if the request's real user
is that very user, and the prediction is learned here, once the request knows its user.
"""

from __future__ import annotations

import asyncio
import json
import os
from types import MappingProxyType
from typing import Any

from django.apps import apps
from django.core.exceptions import SynchronousOnlyOperation
from django.db import connections, router

from conditions import Context
from conditions import cache as switchyard_cache
from conditions.prefetch import prefetch, required_keys
from engine import tenancy
from engine.config import StoredConfig
from engine.resolution import StoredSelections
from engine.storage import cache, generations, session_users

# Where a context keeps the selections it read, so every registry of a request shares them.
MEMO = "_switchyard_selections"
# Where a request keeps ``(schema, values, writes, user_pk)`` fetched ahead with its routing.
AHEAD = "_switchyard_fetched_ahead"


def stored_selections(context: Context) -> StoredSelections:
    """Return the selections of the context's tenant and user, read once per context.

    The schema is the one of ``context.tenant``, else the connection's ("public" without
    django-tenants).
    """
    user_pk = _user_pk(context.user)
    memo = context.extra.get(MEMO)
    schema = getattr(context.tenant, "schema_name", None)
    if (
        schema is not None  # the usual case: no connection or router to ask
        and memo.__class__ is StoredSelections
        and memo.schema == schema
        and memo.user_pk == user_pk
    ):
        return memo
    using = router.db_for_read(selection_model())
    schema = schema or tenancy.current_schema(using)
    if isinstance(memo, StoredSelections) and memo.schema == schema and memo.user_pk == user_pk:
        return memo
    refuse_in_event_loop()
    stored = _read(context, schema, user_pk, using)
    context.extra[MEMO] = stored
    return stored


def refuse_in_event_loop() -> None:
    """Raise ``SynchronousOnlyOperation`` in an event loop, as Django does for the database.

    The read costs a blocking cache round trip (and maybe a query): in an async view it must
    run in a thread (``await request.strategy.aget(...)``), never block the loop.
    """
    if os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE"):
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # no event loop: a sync view, a thread of sync_to_async, a command
    raise SynchronousOnlyOperation(
        "Reading the stored selections needs the cache or the database, which must not block "
        "an event loop: use the async API (await request.strategy.aget(...))."
    )


def selection_model() -> Any:
    """Return ``engine.Selection`` (looked up, not imported: the models build on this package)."""
    global _model
    if _model is None:
        _model = apps.get_model("engine", "Selection")
    return _model


_model: Any = None


def config_model() -> Any:
    """Return ``engine.StrategyConfiguration`` (looked up, like ``selection_model``)."""
    return apps.get_model("engine", "StrategyConfiguration")


def forget(context: Context) -> None:
    """Drop the context's memoised selections (after the context itself wrote some)."""
    context.extra.pop(MEMO, None)


def ahead_keys(schema: str, user_pk: Any = None) -> tuple[str, ...]:
    """Return the keys a request on ``schema`` reads first: its tenant's, the required ones and,
    for a predicted signed-in user ``user_pk``, that user's."""
    keys = (cache.key_for(schema), *required_keys())
    return keys if user_pk is None else (*keys, cache.key_for(schema, user_pk))


def fetched_ahead(request: Any, schema: str, values: dict[str, Any], user_pk: Any = None) -> None:
    """Hand ``request`` the values of ``ahead_keys(schema, user_pk)`` its routing fetched
    (absent: miss).

    Only a context of this request whose tenant's schema is ``schema`` uses them, once; the
    user's value only if that context's user is ``user_pk``.
    """
    setattr(request, AHEAD, (schema, values, cache.committed_writes(), user_pk))


def _take_ahead(context: Context, schema: str) -> tuple[dict[str, Any], Any] | None:
    """Return the values fetched ahead for ``schema`` by the context's request and the user pk
    they include the key of (None: no user's), and drop them.

    Dropped whatever the schema: a later read (after a write of this request) asks the cache.
    Not used after a write this process committed since (this request's own, perhaps).
    """
    request = context.request
    ahead = getattr(request, AHEAD, None) if request is not None else None
    if ahead is None:
        return None
    try:
        delattr(request, AHEAD)
    except AttributeError:  # a wrapper that reads through to the request but cannot delete
        return None
    fetched_schema, values, writes, user_pk = ahead
    if fetched_schema != schema or writes != cache.committed_writes():
        return None
    return values, user_pk


def _fetch(context: Context, schema: str, keys: tuple[str, ...], user_pk: Any) -> dict[str, Any]:
    """Fetch ``keys`` and the required keys, from what the routing fetched ahead when it can."""
    ahead = _take_ahead(context, schema)
    if ahead is None:
        _learn(context, schema, user_pk)
        return prefetch(context, keys)
    values, predicted = ahead
    context.prefetched = {key: values.get(key) for key in required_keys()}
    if predicted != user_pk:
        # Another user (or no one) is behind the cookie now: what was fetched for the predicted
        # user is not this request's, and the next request should guess this one.
        _learn(context, schema, user_pk)
        if user_pk is not None:
            return {**values, **switchyard_cache.get_many(keys[1:])}
    return values  # every key of the request was fetched: absent there is a miss


def _learn(context: Context, schema: str, user_pk: Any) -> None:
    """Remember who is behind the context's request's session cookie on ``schema``."""
    if context.request is not None:
        session_users.learn(schema, session_users.cookie_of(context.request), user_pk)


def _read(context: Context, schema: str, user_pk: Any, using: str) -> StoredSelections:
    tenant_key = cache.key_for(schema)
    user_key = None if user_pk is None else cache.key_for(schema, user_pk)
    keys = (tenant_key,) if user_key is None else (tenant_key, user_key)
    if cache.pending(keys, using):
        # This transaction changed them and has not committed: read its own writes from the
        # database, and cache nothing (a rollback would leave the cache wrong).
        _take_ahead(context, schema)
        prefetch(context)
        return query(schema, user_pk, using)[0]
    found = _fetch(context, schema, keys, user_pk)
    scope = generations.scope_of(schema)
    fresh = generations.latest(scope, using)
    entries: list[Any] = [found.get(key) for key in keys]
    if all(_usable(entry, fresh) for entry in entries):
        user_entry = entries[1] if user_key is not None else _NO_ENTRY
        return _stored(schema, user_pk, entries[0][1], user_entry[1], entries[0][2], user_entry[2])
    stored, seq = query(schema, user_pk, using)
    generations.learned(scope, seq)
    loaded = (
        (dict(stored.tenant_choices), dict(stored.tenant_configs)),
        (dict(stored.user_choices), dict(stored.user_configs)),
    )
    # Absent keys are added (never over an invalidation marker); stale values are replaced.
    absent = {k: (seq, *v) for k, v, e in zip(keys, loaded, entries, strict=False) if e is None}
    stale = {
        k: (seq, *v) for k, v, e in zip(keys, loaded, entries, strict=False) if isinstance(e, tuple)
    }
    cache.fill({**absent, **stale}, replace=stale)
    return stored


# A cache entry: (generation, {registry: slug}, {registry: {slug: StoredConfig}}).
_NO_ENTRY: tuple[Any, ...] = (0, {}, {})


def _usable(entry: Any, fresh: int) -> bool:
    return isinstance(entry, tuple) and len(entry) == 3 and entry[0] >= fresh


def query(schema: str, user_pk: Any, using: str) -> tuple[StoredSelections, int]:
    """Read ``schema``'s selections (and ``user_pk``'s) and its generation, in one query."""
    table = tenancy.quoted_table(selection_model()._meta.db_table, schema, using)
    configs = tenancy.quoted_table(config_model()._meta.db_table, schema, using)
    owners = "user_id IS NULL" if user_pk is None else "(user_id IS NULL OR user_id = %s)"
    sql = (
        f"SELECT NULL, NULL, NULL, {generations.subquery(using)}, NULL::jsonb, NULL::jsonb "
        f"UNION ALL SELECT registry, slug, user_id, NULL, NULL, NULL FROM {table} WHERE {owners} "
        f"UNION ALL SELECT registry, slug, user_id, NULL, values, secrets FROM {configs} "
        f"WHERE {owners}"
    )
    params: list[Any] = [generations.scope_of(schema)]
    if user_pk is not None:
        params.extend([user_pk, user_pk])
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    seq = next((int(row[3]) for row in rows if row[0] is None), 0)
    tenant: dict[str, str] = {}
    user: dict[str, str] = {}
    tenant_configs: dict[str, dict[str, StoredConfig]] = {}
    user_configs: dict[str, dict[str, StoredConfig]] = {}
    for registry, slug, owner, _, values, tokens in rows:
        if registry is None:
            continue
        if values is None:
            (tenant if owner is None else user)[registry] = slug
        else:
            mine = tenant_configs if owner is None else user_configs
            mine.setdefault(registry, {})[slug] = _config(values, tokens)
    return _stored(schema, user_pk, tenant, user, tenant_configs, user_configs), seq


def _stored(
    schema: str,
    user_pk: Any,
    tenant: dict[str, str],
    user: dict[str, str] | None = None,
    tenant_configs: dict[str, Any] | None = None,
    user_configs: dict[str, Any] | None = None,
) -> StoredSelections:
    return StoredSelections(
        schema,
        MappingProxyType(tenant),
        MappingProxyType(user) if user else _EMPTY,
        user_pk,
        MappingProxyType(tenant_configs) if tenant_configs else _EMPTY,
        MappingProxyType(user_configs) if user_configs else _EMPTY,
    )


_EMPTY: Any = MappingProxyType({})


def _config(values: Any, tokens: Any) -> StoredConfig:
    # Django registers a loader that leaves jsonb as text (its JSONField parses it).
    values = json.loads(values) if isinstance(values, str) else values
    tokens = json.loads(tokens) if isinstance(tokens, str) else tokens
    return StoredConfig(values or {}, tokens or {})


def _user_pk(user: Any) -> Any:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)


def read_many(contexts: list[Context], using: str | None = None) -> None:
    """Read the tenant-level selections of many contexts (one per tenant) at once.

    For platform-wide pages: one cache round trip for every context's keys and the conditions'
    required keys, and for what is missing or stale one query for all those schemas' rows
    and generations. Each context is then memoised as ``stored_selections`` would have left
    it, so resolving its registries costs nothing more. Contexts with a user are refused:
    users' selections are read per request.
    """
    if any(_user_pk(context.user) is not None for context in contexts):
        raise ValueError("read_many() reads tenant-level selections: pass contexts without users")
    using = using or router.db_for_read(selection_model())
    schemas = [tenancy.schema_of(context.tenant, using) for context in contexts]
    keys = [cache.key_for(schema) for schema in schemas]
    found = prefetch_many(contexts, keys)
    stale = [
        schema
        for schema, key in zip(schemas, keys, strict=True)
        if not _usable(found.get(key), generations.latest(generations.scope_of(schema), using))
    ]
    loaded = _query_many(stale, using) if stale else {}
    for context, schema, key in zip(contexts, schemas, keys, strict=True):
        if schema in loaded:
            choices, configs, seq = loaded[schema]
            generations.learned(generations.scope_of(schema), seq)
            entry = found.get(key)
            if entry is None or isinstance(entry, tuple):  # never over an invalidation marker
                value = (seq, choices, configs)
                cache.fill({key: value}, replace=[key] if entry is not None else [])
        else:
            _, choices, configs = found[key]
        context.extra[MEMO] = _stored(schema, None, dict(choices), None, dict(configs))


def prefetch_many(contexts: list[Context], keys: list[str]) -> dict[str, Any]:
    """Fetch ``keys`` and the conditions' required keys once; fill every context's prefetch."""
    required = required_keys()
    found = switchyard_cache.get_many([*keys, *required])
    # One dict for all: the required keys are platform-wide, and a stamp one context claims
    # (the flag snapshot's, when the cache lacked it) is then the others' too, so a page of
    # tenants reloads the snapshot once, not once per tenant.
    shared = {key: found.get(key) for key in required}
    for context in contexts:
        context.prefetched = shared
    return found


def _query_many(schemas: list[str], using: str) -> dict[str, Loaded]:
    """Read the tenant-level rows and generation of every schema in ``schemas``: one query."""
    table = selection_model()._meta.db_table
    configs = config_model()._meta.db_table
    parts = []
    for schema in schemas:
        parts.append(
            f"SELECT %s, registry, slug, NULL::jsonb, NULL::jsonb "
            f"FROM {tenancy.quoted_table(table, schema, using)} WHERE user_id IS NULL"
        )
        parts.append(
            f"SELECT %s, registry, slug, values, secrets "
            f"FROM {tenancy.quoted_table(configs, schema, using)} WHERE user_id IS NULL"
        )
    sql = (
        f"SELECT scope, NULL, seq::text, NULL::jsonb, NULL::jsonb FROM {generations.table(using)} "
        f"WHERE scope = ANY(%s) UNION ALL {' UNION ALL '.join(parts)}"
    )
    params: list[Any] = [[generations.scope_of(schema) for schema in schemas]]
    params.extend(schema for schema in schemas for _ in range(2))
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result: dict[str, Loaded] = {schema: ({}, {}, 0) for schema in schemas}
    by_scope = {generations.scope_of(schema): schema for schema in schemas}
    for first, registry, value, values, tokens in rows:
        if registry is None:  # a generation row: (scope, NULL, seq)
            schema = by_scope[first]
            result[schema] = (result[schema][0], result[schema][1], int(value))
        elif values is None:
            result[first][0][registry] = value
        else:
            result[first][1].setdefault(registry, {})[value] = _config(values, tokens)
    return result


# What _query_many loads per schema: the choices, the configurations and the generation.
Loaded = tuple[dict[str, str], dict[str, dict[str, StoredConfig]], int]
