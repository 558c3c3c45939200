"""Writing selections: validated like a read, atomic, recorded, invalidated on commit.

``select``/``deselect`` (what ``Registry.select`` calls) validate first and store second, in
one transaction in the tenant's own schema: the user's permissions and groups are read there,
never in whatever schema the connection was on. ``write_selection``/``clear_selection`` store
without asking whether the strategy may be used (forms and commands validate first).

Every write pins ``search_path`` with ``SET LOCAL`` inside its transaction, so it lands in the
intended schema behind a transaction-pooling PgBouncer too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, router, transaction

from conditions import Context
from engine import sets, tenancy
from engine.config import StoredConfig, config_class, missing, needs_text
from engine.exceptions import unknown_strategy_error
from engine.platform.load import platform_state
from engine.resolution import (
    ParentInForce,
    SkipReason,
    explain_strategy,
    is_available,
    parent_in_force,
    platform_policy,
    platform_skip,
)
from engine.storage import reads
from engine.storage.history import audited
from engine.storage.reads import config_model, selection_model
from engine.validators import (
    validate_registry_key,
    validate_slug,
    validate_stored_slugs,
    validate_via,
)

if TYPE_CHECKING:
    from engine.registry import Registry
    from engine.strategy import Strategy


def validate_selection(
    registry: type[Registry],
    slug: str,
    context: Context,
    user: Any = None,
    *,
    configured: bool = True,
    parent: str | None = None,
) -> type[Strategy]:
    """Return the strategy ``slug`` if it may be selected in ``context``, else raise.

    Raises ``ValidationError`` with code ``unknown_strategy``, ``not_user_selectable``,
    ``disabled_by_platform``, ``reserve``, ``not_under_parent``, ``unavailable`` or
    ``not_configured`` (its required configuration is not stored). For a user's own selection
    (``user`` given) the strategy must be available to that user. Conditions are evaluated in
    the context's tenant's schema. ``configured=False`` leaves the configuration out (a form
    that configures and selects in one step checks it itself). A child registry's strategy must
    serve the parent strategy in force (the tenant's, or the user's for a user's own
    selection); ``parent`` names another parent slug to judge it under instead, when the same
    change sets the parent too (a form changing both).
    """
    with tenancy.tenant_scope(context.tenant):
        if not configured:
            return validate_target(registry, slug, context, user, parent)
        return _validate(registry, slug, context, user, parent)


def validate_set(
    registry: type[Registry],
    slugs: Any,
    context: Context,
    user: Any = None,
    *,
    keep: Collection[str] = (),
) -> tuple[str, ...]:
    """Return the slugs of the set ``slugs`` if it may be selected in ``context``, else raise.

    The shape first (``engine.sets.validate_shape``: a list of distinct registered slugs, the
    mandatory ones, ``min_selected`` to ``max_selected``), then each slug like a single
    selection (codes ``not_user_selectable``, ``unavailable``, ``not_configured``). Mandatory
    slugs and those in ``keep`` (stored now: keeping a value is not choosing it) are not
    checked for availability.
    """
    with tenancy.tenant_scope(context.tenant):
        return _validate_set(registry, slugs, context, user, keep)


def _validate_set(
    registry: type[Registry], value: Any, context: Context, user: Any, keep: Collection[str]
) -> tuple[str, ...]:
    if not registry.multiple:
        raise ValidationError(
            "Registry %(registry)s holds one strategy, not a set: select a single slug.",
            code="not_multiple",
            params={"registry": repr(registry.key)},
        )
    _check_user_selectable(registry, user)
    slugs = sets.validate_shape(registry, value, keep)
    context = _context_for(context, user)
    for slug in slugs:
        if slug not in keep and slug not in registry.mandatory:
            _check_parent(registry, registry.get(slug), context, user is None, None)
            _check_available(registry, registry.get(slug), context)
            _check_configured(registry, registry.get(slug), context, user)
    return slugs


def _validate(
    registry: type[Registry],
    slug: str,
    context: Context,
    user: Any = None,
    parent_slug: str | None = None,
) -> type[Strategy]:
    strategy = validate_target(registry, slug, context, user, parent_slug)
    _check_configured(registry, strategy, context, user)
    return strategy


def validate_target(
    registry: type[Registry],
    slug: str,
    context: Context,
    user: Any = None,
    parent_slug: str | None = None,
) -> type[Strategy]:
    """Return the strategy ``slug`` if ``context`` may use it (configuration aside), else raise."""
    if not isinstance(slug, str) or slug not in registry:
        raise unknown_strategy_error(registry, slug)
    _check_user_selectable(registry, user)
    strategy = registry.get(slug)
    context = _context_for(context, user)
    _check_parent(registry, strategy, context, user is None, parent_slug)
    _check_available(registry, strategy, context)
    return strategy


def _check_user_selectable(registry: type[Registry], user: Any) -> None:
    if user is not None and not registry.user_selectable:
        raise ValidationError(
            "Registry %(registry)s does not allow per-user selections (user_selectable is "
            "False on %(cls)s); select for the tenant instead.",
            code="not_user_selectable",
            params={"registry": repr(registry.key), "cls": registry.__name__},
        )


def _check_available(registry: type[Registry], strategy: type[Strategy], context: Context) -> None:
    slug = strategy.slug
    _validate_platform(registry, slug, context)
    if not is_available(strategy, context):
        explanation = explain_strategy(strategy, context)
        raise ValidationError(
            "Strategy %(slug)s of %(registry)s is not available here: %(condition)s is not met.",
            code="unavailable",
            params={
                "slug": repr(slug),
                "registry": repr(registry.key),
                "condition": explanation.text,
                "explanation": explanation,
            },
        )


def _validate_platform(registry: type[Registry], slug: str, context: Context) -> None:
    policy = platform_policy(registry, context, platform_state(context))
    held = platform_skip(policy, slug, context)
    if held is None:
        return
    why, note = held
    if why is SkipReason.DISABLED_BY_PLATFORM:
        raise ValidationError(
            "Strategy %(slug)s of %(registry)s is disabled by the platform%(note)s.",
            code="disabled_by_platform",
            params={"slug": repr(slug), "registry": repr(registry.key), "note": _note(note)},
        )
    raise ValidationError(
        "Strategy %(slug)s of %(registry)s is held in reserve by the platform: it is offered "
        "only when no active strategy of the registry is available%(note)s.",
        code="reserve",
        params={"slug": repr(slug), "registry": repr(registry.key), "note": _note(note)},
    )


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _check_configured(
    registry: type[Registry], strategy: type[Strategy], context: Context, user: Any
) -> None:
    config = config_class(strategy)
    if config is None:
        return
    absent = missing(config, stored_config(registry, strategy.slug, context, user))
    if absent:
        raise ValidationError(
            "Strategy %(slug)s of %(registry)s is not configured: %(needs)s.",
            code="not_configured",
            params={
                "slug": repr(strategy.slug),
                "registry": repr(registry.key),
                "needs": needs_text(strategy.slug, absent),
                "missing": absent,
            },
        )


def stored_config(
    registry: type[Registry], slug: str, context: Context, user: Any = None, *, lock: bool = False
) -> StoredConfig | None:
    """Return the configuration that applies to a selection by ``user`` (None: the tenant's),
    read from the database in the connection's schema (``lock``: the row locked for update)."""
    rows = config_model().objects.filter(registry=registry.key, slug=slug)
    if lock:
        rows = rows.select_for_update()
    owners = [user, None] if user is not None and registry.user_selectable else [None]
    for owner in owners:
        row = rows.filter(user=owner).values_list("values", "secrets").first()
        if row is not None:
            return StoredConfig(row[0] or {}, row[1] or {})
    return None


def _check_parent(
    registry: type[Registry],
    strategy: type[Strategy],
    context: Context,
    tenant_level: bool,
    parent_slug: str | None,
) -> None:
    """Raise ``ValidationError`` when a child ``strategy`` does not serve the parent in force."""
    if registry.parent is None:
        return
    if parent_slug is not None:
        parent: ParentInForce | None = ParentInForce(registry.parent, parent_slug)
    else:
        stored = reads.stored_selections(context)
        parent = parent_in_force(
            registry, context, stored, tenant_level=tenant_level, platform=platform_state(context)
        )
    if parent is None or parent.serves(strategy):
        return
    raise ValidationError(
        "Strategy %(slug)s of %(registry)s is %(why)s; it serves %(serves)s.",
        code="not_under_parent",
        params={
            "slug": repr(strategy.slug),
            "registry": repr(registry.key),
            "why": parent.text,
            "serves": ", ".join(f"{parent.key}={slug}" for slug in sorted(strategy.parents or ()))
            or f"every strategy of {parent.key!r}",
            "parent": parent,
        },
    )


def select(
    registry: type[Registry],
    slug: str | Sequence[str],
    context: Context,
    user: Any = None,
    *,
    changed_by: Any = None,
    via: str = "api",
) -> Any:
    """Validate ``slug`` for ``context`` (and ``user``), then store it; return the stored row.

    For a ``multiple`` registry ``slug`` is a list of slugs, stored in its order; an empty set
    (when the registry allows one) removes the stored selection, and None is returned.
    """
    with _pinned(context.tenant) as using:
        if registry.multiple:
            rows = selection_model().objects.using(using).select_for_update()
            stored = rows.filter(registry=registry.key, user=user).values_list("slug", flat=True)
            keep = sets.split(stored.first())
            value = sets.join(_validate_set(registry, slug, context, user, keep))
        else:
            _validate(registry, slug, context, user)  # type: ignore[arg-type]
            value = slug  # type: ignore[assignment]
        if value:
            selection = _write(registry.key, value, user, changed_by, via, using)
        else:
            _clear(registry.key, user, changed_by, via, using)
            selection = None
    reads.forget(context)  # the context's own copy of the selections is stale now
    return selection


def deselect(
    registry: type[Registry],
    context: Context,
    user: Any = None,
    *,
    changed_by: Any = None,
    via: str = "api",
) -> None:
    """Remove the stored choice of the tenant (or of ``user``); resolution falls back."""
    clear_selection(registry.key, user=user, changed_by=changed_by, via=via, tenant=context.tenant)
    reads.forget(context)


# write_selection and clear_selection share their keyword arguments on purpose: one is the
# other's undo, and callers pass the same audit arguments (user, changed_by, via, tenant).
def write_selection(
    registry_key: str,
    slug: str | Sequence[str],
    *,
    user: Any = None,
    changed_by: Any = None,
    via: str,
    tenant: Any = None,
) -> Any:
    """Store ``slug`` for ``registry_key`` (the tenant's, or ``user``'s), atomically.

    A set (of a ``multiple`` registry) is given as a list of slugs, or already joined.
    Appends to the history and, after the commit, invalidates the cache of the schema written
    to and sends ``strategy_selected``. Writing the slug already stored changes nothing.
    ``tenant`` (under django-tenants) writes into that tenant's schema; None means the
    connection's schema. Checks the shape of the values (``ValidationError``), not whether the
    strategy may be used: callers (``Registry.select``, forms, admin, commands) do that first.
    """
    if isinstance(slug, list | tuple):
        for item in slug:
            validate_slug(item)
        slug = sets.join(slug)
    with _pinned(tenant) as using:
        return _write(registry_key, slug, user, changed_by, via, using)  # type: ignore[arg-type]


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
    with _pinned(tenant) as using:
        _clear(registry_key, user, changed_by, via, using)


def _clear(registry_key: str, user: Any, changed_by: Any, via: str, using: str) -> None:
    validate_registry_key(registry_key)
    _validate_common(user, changed_by, via)
    with audited(via=via, changed_by=changed_by):
        rows = selection_model().objects.using(using).select_for_update()
        selection = rows.filter(registry=registry_key, user=user).first()
        if selection is not None:
            if user is not None:
                selection.user = user  # at hand for the signal: no query to load it
            selection.delete(using=using)


def _write(registry_key: str, slug: str, user: Any, changed_by: Any, via: str, using: str) -> Any:
    validate_registry_key(registry_key)
    validate_stored_slugs(slug)
    _validate_common(user, changed_by, via)
    with audited(via=via, changed_by=changed_by):
        rows = selection_model().objects.using(using).select_for_update()
        selection = rows.filter(registry=registry_key, user=user).first()
        if selection is None:
            selection = selection_model()(
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


@contextmanager
def _pinned(tenant: Any) -> Iterator[str]:
    """Open a transaction in ``tenant``'s schema (else the connection's), ``search_path`` pinned."""
    using = router.db_for_write(selection_model())
    with tenancy.tenant_scope(tenant, using), transaction.atomic(using=using):
        tenancy.pin_search_path(tenancy.schema_of(tenant, using), using)
        yield using


def _validate_common(user: Any, changed_by: Any, via: str) -> None:
    validate_via(via)
    for name, value in (("user", user), ("changed_by", changed_by)):
        if value is not None and getattr(value, "pk", None) is None:
            raise ValidationError(
                "%(name)s must be a saved user or None, got %(value)s.",
                code=f"invalid_{name}",
                params={"name": name, "value": repr(value)},
            )


def _context_for(context: Context, user: Any) -> Context:
    """Return ``context``, or a context for ``user`` when the selection is someone else's."""
    if user is None or getattr(user, "pk", None) == getattr(context.user, "pk", None):
        return context
    # A request would make request-bound leaves (flags) answer for the request's user.
    extra = {name: value for name, value in context.extra.items() if not name.startswith("_")}
    return Context(user=user, tenant=context.tenant, strict=context.strict, **extra)
