"""Reading and writing the stored selections of a tenant (and of its users).

``stored_selections(context)`` is the read of the request path: one cache round trip for the
tenant's choices, the user's choices and every key the conditions need, memoised on the context
so all registries share it; one SQL query on a miss. ``write_selection`` / ``clear_selection``
are the writes: atomic, recorded in the history, and invalidating the cache when they commit.
They do not check that a strategy may be used; ``Registry.select`` does, then calls them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Q

from conditions import Context
from engine import cache
from engine.audit import audited
from engine.models import Selection
from engine.resolution import SELECTIONS_MEMO
from engine.validators import validate_registry_key, validate_slug, validate_via

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class StoredSelections:
    """What one tenant (schema) stored, as read in the request's single cache round trip."""

    schema: str
    tenant_choices: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # user is None
    user_choices: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # for user_pk
    user_pk: Any = field(default=None, compare=False)

    def tenant_choice(self, registry_key: str) -> str | None:
        """Return the slug the tenant stored for ``registry_key``, or None."""
        return self.tenant_choices.get(registry_key)

    def user_choice(self, registry_key: str) -> str | None:
        """Return the slug the context's user stored for ``registry_key``, or None."""
        return self.user_choices.get(registry_key)


def stored_selections(context: Context) -> StoredSelections:
    """Return the selections of the context's tenant and user, read once per context.

    One cache round trip (``get_many``) fetches the tenant's key, the user's key (for an
    authenticated user) and ``conditions.prefetch.required_keys()``; a miss costs one SQL
    query, and the result (also "nothing stored") is cached. The schema is the one of
    ``context.tenant``, else the connection's ("public" without django-tenants).
    """
    schema = schema_of(context)
    user_pk = _user_pk(context.user)
    memo = context.extra.get(SELECTIONS_MEMO)
    if isinstance(memo, StoredSelections) and memo.schema == schema and memo.user_pk == user_pk:
        return memo
    stored = _read(context, schema, user_pk)
    context.extra[SELECTIONS_MEMO] = stored
    return stored


def schema_of(context: Context) -> str:
    """Return the schema whose selections apply to ``context``."""
    schema = getattr(context.tenant, "schema_name", None)
    return schema or cache.current_schema(router.db_for_read(Selection))


def _read(context: Context, schema: str, user_pk: Any) -> StoredSelections:
    using = router.db_for_read(Selection)
    tenant_key = cache.key_for(schema)
    user_key = None if user_pk is None else cache.key_for(schema, user_pk)
    keys = (tenant_key,) if user_key is None else (tenant_key, user_key)
    if cache.pending(keys, using):
        # This transaction changed them and has not committed: read its own writes from the
        # database, and cache nothing (a rollback would leave the cache wrong).
        cache.fetch(context, (), schema, using)
        return _query(schema, user_pk, using)
    found = cache.fetch(context, keys, schema, using)
    tenant_value = found.get(tenant_key)
    user_value = {} if user_key is None else found.get(user_key)
    if isinstance(tenant_value, dict) and isinstance(user_value, dict):
        return _stored(schema, user_pk, tenant_value, user_value)
    stored = _query(schema, user_pk, using)
    loaded = (dict(stored.tenant_choices), dict(stored.user_choices))
    # Only absent keys: an invalidation marker means a commit happened a moment ago.
    cache.fill(
        {k: v for k, v in zip(keys, loaded, strict=False) if found.get(k) is None}, schema, using
    )
    return stored


def _query(schema: str, user_pk: Any, using: str) -> StoredSelections:
    owners = Q(user__isnull=True) if user_pk is None else Q(user__isnull=True) | Q(user_id=user_pk)
    query = Selection.objects.using(using).filter(owners).values_list("registry", "slug", "user_id")
    with cache.in_schema(schema, using):
        rows = list(query)
    tenant = {registry: slug for registry, slug, owner in rows if owner is None}
    user = {registry: slug for registry, slug, owner in rows if owner is not None}
    return _stored(schema, user_pk, tenant, user)


def _stored(
    schema: str, user_pk: Any, tenant: dict[str, str], user: dict[str, str] | None = None
) -> StoredSelections:
    return StoredSelections(
        schema,
        MappingProxyType(tenant),
        MappingProxyType(user) if user else _EMPTY,
        user_pk,
    )


def _user_pk(user: Any) -> Any:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)


def write_selection(
    registry_key: str,
    slug: str,
    *,
    user: Any = None,
    changed_by: Any = None,
    via: str,
    tenant: Any = None,
) -> Selection:
    """Store ``slug`` for ``registry_key`` (the tenant's, or ``user``'s), atomically.

    Appends to the history and, after the commit, invalidates the cache of the schema written
    to and sends ``strategy_selected``. Writing the slug already stored changes nothing.
    ``tenant`` (under django-tenants) writes into that tenant's schema; None means the
    connection's schema. Checks the shape of the values (``ValidationError``), not whether the
    strategy may be used: callers (``Registry.select``, forms, admin, commands) do that first.
    """
    validate_registry_key(registry_key)
    validate_slug(slug)
    _validate_common(user, changed_by, via)
    with _tenant_scope(tenant):
        using = router.db_for_write(Selection)
        with transaction.atomic(using=using), audited(via=via, changed_by=changed_by):
            rows = Selection.objects.using(using).select_for_update()
            selection = rows.filter(registry=registry_key, user=user).first()
            if selection is None:
                selection = Selection(
                    registry=registry_key, slug=slug, user=user, changed_by=changed_by
                )
                try:
                    with transaction.atomic(using=using):
                        selection.save(using=using, force_insert=True)
                    return selection
                except IntegrityError:
                    # Another transaction stored this (registry, user) first: update its row.
                    selection = rows.get(registry=registry_key, user=user)
            if selection.slug != slug:
                selection.slug = slug
                selection.changed_by = changed_by
                selection.save(using=using, update_fields=["slug", "changed_by", "changed_at"])
            return selection


def clear_selection(
    registry_key: str,
    *,
    user: Any = None,
    changed_by: Any = None,
    via: str,
    tenant: Any = None,
) -> None:
    """Remove the stored selection of ``registry_key`` (the tenant's, or ``user``'s).

    Recorded in the history with no slug after, invalidated like a write; nothing stored is
    not an error.
    """
    validate_registry_key(registry_key)
    _validate_common(user, changed_by, via)
    with _tenant_scope(tenant):
        using = router.db_for_write(Selection)
        with transaction.atomic(using=using), audited(via=via, changed_by=changed_by):
            rows = Selection.objects.using(using).select_for_update()
            selection = rows.filter(registry=registry_key, user=user).first()
            if selection is not None:
                if user is not None:
                    selection.user = user  # at hand for the signal: no query to load it
                selection.delete(using=using)


def _validate_common(user: Any, changed_by: Any, via: str) -> None:
    validate_via(via)
    for name, value in (("user", user), ("changed_by", changed_by)):
        if value is not None and getattr(value, "pk", None) is None:
            raise ValidationError(
                "%(name)s must be a saved user or None, got %(value)s.",
                code=f"invalid_{name}",
                params={"name": name, "value": repr(value)},
            )


@contextmanager
def _tenant_scope(tenant: Any) -> Iterator[None]:
    """Run the block in ``tenant``'s schema under django-tenants (else there is one schema)."""
    if tenant is None or not hasattr(connections[router.db_for_write(Selection)], "set_tenant"):
        yield
        return
    from django_tenants.utils import tenant_context

    with tenant_context(tenant):
        yield
