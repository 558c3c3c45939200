"""Every strategy's platform state as a platform page lists it: code and rows side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from engine import tenancy
from engine.catalogue import registries
from engine.platform.models import StrategyState
from engine.platform.state import Status


@dataclass(frozen=True)
class StateRow:
    """One strategy: its registry, slug, label, status, priority in force, note and scope."""

    registry: str
    slug: str
    label: str
    status: str
    priority: int | None  # the priority in force (None: no class to take it from)
    overridden: bool  # the platform set the priority
    note: str
    scope: str
    loads: bool  # a registered class answers to it
    synced: bool  # it has a row (else switchyard_sync has not run since it was added)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def strategy_states(using: str = DEFAULT_DB_ALIAS) -> list[StateRow]:
    """Return every registered strategy and every stored row, by registry then fallback order
    (one query, in the public schema)."""
    with tenancy.in_schema(tenancy.public_schema(), using):
        stored = {(s.registry, s.slug): s for s in StrategyState.objects.using(using)}
    found: list[StateRow] = []
    for key, registry in sorted(registries().items()):
        for strategy in registry.strategies():
            found.append(_row(key, strategy.slug, strategy, stored.pop((key, strategy.slug), None)))
    found.extend(_row(key, slug, None, row) for (key, slug), row in sorted(stored.items()))
    return sorted(found, key=lambda row: (row.registry, row.priority is None, row.priority or 0))


def _row(key: str, slug: str, strategy: Any, row: StrategyState | None) -> StateRow:
    override = None if row is None else row.priority
    own = None if strategy is None else strategy.priority
    return StateRow(
        registry=key,
        slug=slug,
        label=str(strategy.label) if strategy is not None else (row.label if row else slug),
        status=row.status if row is not None else Status.ACTIVE.value,
        priority=own if override is None else override,
        overridden=override is not None,
        note=row.note if row is not None else "",
        scope=row.scope if row is not None else "",
        loads=strategy is not None,
        synced=row is not None,
    )
