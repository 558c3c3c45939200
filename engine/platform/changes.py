"""Changing the platform state: the kill switch, reserve, priority; validated and audited.

``set_status("payments.crypto", "disabled", note="provider outage", changed_by="ops")`` is
what the admin's actions and the ``switchyard_disable``/``switchyard_enable`` commands call.
Each change is one transaction: the row is locked, saved (appending a ``StrategyStateChange``
with who, when, the note and the path) and every process reloads the state at its next
request. Stored selections are never touched: enabling a strategy again gives every tenant
back the choice it had stored.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction

from conditions.naming import echo
from engine import tenancy
from engine.platform.models import StrategyState
from engine.platform.state import Status
from engine.platform.validation import (
    parse_dotted,
    validate_actor,
    validate_note,
    validate_scope,
)
from engine.validators import validate_via


def validate_status(value: Any) -> Status:
    """Return the ``Status`` named ``value``; ``ValidationError`` (``invalid_status``) if none."""
    try:
        return Status(value)
    except ValueError:
        raise ValidationError(
            "Unknown status %(value)s: expected one of %(known)s.",
            code="invalid_status",
            params={"value": echo(value), "known": ", ".join(status.value for status in Status)},
        ) from None


def set_status(
    dotted: str,
    status: str,
    *,
    note: str | None = None,
    scope: str | None = None,
    changed_by: str = "",
    via: str = "api",
    using: str = DEFAULT_DB_ALIAS,
) -> StrategyState:
    """Give the strategy ``registry.slug`` ``status`` (and ``note``/``scope`` when given).

    ``note`` None keeps the stored note; "" clears it. Raises ``ValidationError`` for an
    unknown name, status, a bad note, scope, author or path; nothing is stored then.
    """
    key, slug = parse_dotted(dotted)
    new_status = validate_status(status)
    for value, validate in ((note, validate_note), (scope, validate_scope)):
        if value is not None:
            validate(value)
    validate_actor(changed_by)
    validate_via(via)
    with tenancy.in_schema(tenancy.public_schema(), using), transaction.atomic(using=using):
        tenancy.pin_search_path(tenancy.public_schema(), using)
        state = _locked(key, slug, using)
        state.status = new_status.value
        if note is not None:
            state.note = note
        if scope is not None:
            state.scope = scope.strip()
        state.changed_by = changed_by
        state.save(using=using, via=via)
    return state


def move_priority(
    state: StrategyState, steps: int, *, changed_by: str = "", via: str = "admin"
) -> StrategyState:
    """Move ``state`` ``steps`` places earlier (negative) or later in its registry's fallback
    order, by giving it a priority override just past its neighbour's."""
    from engine.catalogue import registries

    registry = registries().get(state.registry)
    if registry is None or state.slug not in registry:
        raise ValidationError(
            "%(name)s has no registered class: its priority changes nothing.",
            code="unknown_strategy",
            params={"name": echo(state.dotted)},
        )
    validate_actor(changed_by)
    public = tenancy.public_schema()
    with tenancy.in_schema(public), transaction.atomic():
        tenancy.pin_search_path(public)
        overrides = dict(
            StrategyState.objects.select_for_update()
            .filter(registry=state.registry, priority__isnull=False)
            .values_list("slug", "priority")
        )

        def rank(slug: str) -> tuple[int, str]:
            override = overrides.get(slug)
            return (registry.get(slug).priority if override is None else override, slug)

        order = sorted(registry.slugs(), key=rank)
        index = order.index(state.slug)
        target = max(0, min(len(order) - 1, index + steps))
        if target == index:
            return state
        neighbour = rank(order[target])[0]
        # Past the neighbour: ties are broken by slug, so one more (or less) always moves it.
        state.priority = neighbour - 1 if steps < 0 else neighbour + 1
        state.changed_by = changed_by
        state.save(via=via)
    return state


def _locked(key: str, slug: str, using: str) -> StrategyState:
    state = StrategyState.objects.using(using).select_for_update().filter(registry=key, slug=slug)
    found = state.first()
    if found is not None:
        return found
    # Not synced yet (a strategy added since the last switchyard_sync): created here.
    from engine.catalogue import registries

    label = str(registries()[key].get(slug).label)
    created, _ = StrategyState.objects.using(using).get_or_create(
        registry=key, slug=slug, defaults={"label": label}
    )
    return created
