"""Keeping the platform state's rows in step with the strategies registered in code.

``sync()`` creates a row (active, the class's priority) for every registered strategy that
has none. With ``update`` it also refreshes the synced label of existing rows; with ``prune``
it deletes the rows whose class is gone (else they stay, shown as not loading in the admin,
so a class removed by mistake comes back with its state). The platform's decisions (status,
priority override, note, scope) are never changed by a sync. Running it twice changes nothing
the second time. ``migrate`` runs it (create-only) for the public schema.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from engine import tenancy
from engine.catalogue import registries
from engine.platform.load import TABLE
from engine.platform.models import StrategyState


@dataclass
class SyncReport:
    """What a sync did, as ``registry.slug`` names."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # rows whose class is gone, kept

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.pruned)

    def lines(self) -> list[str]:
        parts = [
            ("created", self.created),
            ("updated", self.updated),
            ("pruned", self.pruned),
            ("stale (class gone; --prune deletes)", self.stale),
        ]
        lines = [f"{what}: {', '.join(names)}" for what, names in parts if names]
        return lines or ["in sync: nothing to do"]


def sync(*, update: bool = False, prune: bool = False, using: str = DEFAULT_DB_ALIAS) -> SyncReport:
    """Create the missing rows (and refresh labels with ``update``, delete stale ones with
    ``prune``) in the public schema; return what was done."""
    report = SyncReport()
    with tenancy.in_schema(tenancy.public_schema(), using), transaction.atomic(using=using):
        tenancy.pin_search_path(tenancy.public_schema(), using)
        rows = {
            (row.registry, row.slug): row
            for row in StrategyState.objects.using(using).select_for_update()
        }
        for key, registry in sorted(registries().items()):
            for strategy in registry.strategies():
                _sync_one(
                    rows.pop((key, strategy.slug), None), key, strategy, update, report, using
                )
        for (key, slug), row in sorted(rows.items()):
            if prune:
                row.delete(using=using, via="sync")
                report.pruned.append(f"{key}.{slug}")
            else:
                report.stale.append(f"{key}.{slug}")
    return report


def _sync_one(
    row: StrategyState | None, key: str, strategy: Any, update: bool, report: SyncReport, using: str
) -> None:
    label = str(strategy.label)[:200]
    name = f"{key}.{strategy.slug}"
    if row is None:
        StrategyState(registry=key, slug=strategy.slug, label=label, changed_by="sync").save(
            using=using, via="sync"
        )
        report.created.append(name)
    elif update and row.label != label:
        # Only the label: the history records platform decisions, not code's.
        StrategyState.objects.using(using).filter(pk=row.pk).update(label=label)
        report.updated.append(name)


def table_exists(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Return whether the public schema has the platform state table (migrated that far)."""
    name = f"{tenancy.public_schema()}.{TABLE}" if tenancy.tenants_installed(using) else TABLE
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        return cursor.fetchone()[0] is not None


def sync_after_migrate(
    using: str = DEFAULT_DB_ALIAS, verbosity: int = 1, stdout: Any = None, **_: Any
) -> None:
    """``post_migrate``: create the missing rows when the public schema was migrated."""
    if tenancy.tenants_installed(using) and tenancy.current_schema(using) != (
        tenancy.public_schema()
    ):
        return  # a tenant schema's migration: the state lives in the public schema only
    if not table_exists(using):
        return  # migrated backwards past the table
    report = sync(using=using)
    if verbosity >= 1 and report.created:
        out = stdout if stdout is not None else sys.stdout
        out.write(f"Switchyard platform state: created {', '.join(report.created)}\n")
