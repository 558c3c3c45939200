"""Writing strategy configurations: validated by ``clean_config``, atomic, recorded, invalidated.

``configure`` validates the strategy like a selection (known, allowed for the owner, its
condition met in the context), then the values with ``engine.config.clean_config`` (the one
validation every surface shares), in one transaction in the tenant's own schema with
``search_path`` pinned. Secrets are stored as Fernet tokens; the history holds them masked. The
row's save invalidates the schema's cached selections (configuration travels with them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from conditions import Context
from engine import sets
from engine.config import StoredConfig, config_class, masked_of
from engine.config import clean_config as _clean
from engine.storage import reads, writes
from engine.storage.history import audited, current_audit
from engine.storage.reads import config_model, selection_model

if TYPE_CHECKING:
    from engine.registry import Registry
    from engine.strategy import Strategy


@sensitive_variables()
def validate_configuration(
    registry: type[Registry],
    slug: str,
    data: Mapping[str, Any],
    context: Context,
    user: Any = None,
) -> None:
    """Raise ``ValidationError`` unless ``data`` may be stored as ``slug``'s configuration."""
    with writes._pinned(context.tenant) as using:
        strategy = writes.validate_target(registry, slug, context, user)
        rows = config_model().objects.using(using).filter(registry=registry.key, slug=slug)
        row = rows.filter(user=user).first()
        stored = StoredConfig(row.values, row.secrets) if row is not None else None
        _clean(_config_of(registry, strategy), data, stored=stored, context=context)


@sensitive_variables()
def configure(
    registry: type[Registry],
    slug: str,
    data: Mapping[str, Any],
    context: Context,
    user: Any = None,
    *,
    changed_by: Any = None,
    via: str = "api",
    select: bool = False,
) -> Any:
    """Validate and store ``data`` as ``slug``'s configuration (the tenant's, or ``user``'s).

    A blank secret keeps the stored one. ``select=True`` then selects the strategy in the
    same transaction (configure and select in one step). Returns the stored row.
    """
    writes._validate_common(user, changed_by, via)
    with writes._pinned(context.tenant) as using, audited(via=via, changed_by=changed_by):
        strategy = writes.validate_target(registry, slug, context, user)
        config = _config_of(registry, strategy)
        rows = config_model().objects.using(using).select_for_update()
        row = rows.filter(registry=registry.key, slug=slug, user=user).first()
        before = StoredConfig(row.values, row.secrets) if row is not None else None
        clean = _clean(config, data, stored=before, context=context)
        if row is None or (row.values, row.secrets) != (clean.stored.values, clean.stored.secrets):
            row = _save(registry, slug, user, row, clean.stored, changed_by, using)
            _record(registry, slug, user, masked_of(config, before), clean.masked, using)
        if select:
            _select(registry, slug, context, user, changed_by, via, using)
    reads.forget(context)
    return row


def _select(
    registry: type[Registry],
    slug: str,
    context: Context,
    user: Any,
    changed_by: Any,
    via: str,
    using: str,
) -> None:
    """Select ``slug`` after configuring it: in force alone, or added to a set's end."""
    if not registry.multiple:
        writes._validate(registry, slug, context, user)
        writes._write(registry.key, slug, user, changed_by, via, using)
        return
    rows = selection_model().objects.using(using).select_for_update()
    stored = rows.filter(registry=registry.key, user=user).values_list("slug", flat=True)
    current = sets.split(stored.first())
    if slug not in current:
        chosen = writes._validate_set(registry, [*current, slug], context, user, current)
        writes._write(registry.key, sets.join(chosen), user, changed_by, via, using)


def clear_configuration(
    registry: type[Registry],
    slug: str,
    context: Context,
    user: Any = None,
    *,
    changed_by: Any = None,
    via: str = "api",
) -> None:
    """Remove ``slug``'s stored configuration (the tenant's, or ``user``'s); recorded."""
    writes._validate_common(user, changed_by, via)
    strategy = registry.get(slug)
    config = _config_of(registry, strategy)
    with writes._pinned(context.tenant) as using, audited(via=via, changed_by=changed_by):
        rows = config_model().objects.using(using).select_for_update()
        row = rows.filter(registry=registry.key, slug=slug, user=user).first()
        if row is not None:
            before = StoredConfig(row.values, row.secrets)
            row.delete(using=using)
            _record(registry, slug, user, masked_of(config, before), None, using)
    reads.forget(context)


def _config_of(registry: type[Registry], strategy: type[Strategy]) -> Any:
    config = config_class(strategy)
    if config is None:
        raise ValidationError(
            "Strategy %(slug)s of %(registry)s declares no configuration (no Config class).",
            code="no_config",
            params={"slug": repr(strategy.slug), "registry": repr(registry.key)},
        )
    return config


def _save(
    registry: type[Registry],
    slug: str,
    user: Any,
    row: Any,
    stored: StoredConfig,
    changed_by: Any,
    using: str,
) -> Any:
    values, tokens = dict(stored.values), dict(stored.secrets)
    if row is None:
        row = config_model()(
            registry=registry.key, slug=slug, user=user, values=values, secrets=tokens
        )
        row.changed_by = changed_by
        try:
            with transaction.atomic(using=using):
                row.save(using=using, force_insert=True)
            return row
        except IntegrityError:
            # Another transaction stored this (registry, slug, user) first: update its row.
            row = (
                config_model()
                .objects.using(using)
                .select_for_update()
                .get(registry=registry.key, slug=slug, user=user)
            )
    row.values, row.secrets, row.changed_by = values, tokens, changed_by
    row.save(using=using, update_fields=["values", "secrets", "changed_by", "changed_at"])
    return row


def _record(
    registry: type[Registry],
    slug: str,
    user: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    using: str,
) -> None:
    audit = current_audit()
    history = reads.config_model()._meta.apps.get_model("engine", "ConfigurationHistory")
    history._default_manager.using(using).create(
        registry=registry.key,
        slug=slug,
        user_id=getattr(user, "pk", None),
        before=before,
        after=after,
        changed_by_id=getattr(audit.changed_by, "pk", None),
        via=audit.via,
    )
