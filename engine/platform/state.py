"""The platform's say over each strategy (status, priority, note, scope), as resolution reads it.

Pure values: ``engine.platform.load`` builds a ``PlatformState`` from the public schema's rows
with the flag snapshot, and ``engine.resolution`` is handed it like ``StoredSelections``. A
strategy without a row, or whose row's scope does not match the context, is active with its
class's priority.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from conditions import Condition, Context

if TYPE_CHECKING:
    from engine.strategy import Strategy


class Status(enum.StrEnum):
    """What the platform allows of a strategy."""

    ACTIVE = "active"  # offered when its condition is met
    RESERVE = "reserve"  # offered only when no active strategy of its registry is available
    DISABLED = "disabled"  # never offered: the kill switch


@dataclass(frozen=True, slots=True)
class PlatformEntry:
    """One strategy's platform state: status, priority override, note and scope."""

    registry: str
    slug: str
    status: Status = Status.ACTIVE
    priority: int | None = None  # None: the class's own priority
    note: str = ""
    scope: Condition | None = None  # None: every tenant; else only contexts meeting it

    @property
    def neutral(self) -> bool:
        """Whether the entry changes nothing (active, the class's priority)."""
        return self.status is Status.ACTIVE and self.priority is None

    def applies(self, context: Context) -> bool:
        """Return whether the entry holds for ``context`` (a scope that fails does not)."""
        if self.scope is None:
            return True
        try:
            return self.scope.truth(context) is True
        except Exception:  # a custom condition raised: the scope is not met, like any other
            return False


@dataclass(frozen=True)
class RegistryPolicy:
    """How the platform state applies to one registry in one context."""

    entries: Mapping[str, PlatformEntry]  # slug -> entry that applies to the context
    active: tuple[type[Strategy], ...]  # by (effective priority, slug)
    reserve: tuple[type[Strategy], ...]

    def status(self, slug: str) -> Status:
        entry = self.entries.get(slug)
        return Status.ACTIVE if entry is None else entry.status

    def note(self, slug: str) -> str:
        entry = self.entries.get(slug)
        return "" if entry is None else entry.note


@dataclass(frozen=True)
class PlatformState:
    """Every strategy's platform entry, by registry key and slug."""

    entries: Mapping[str, Mapping[str, PlatformEntry]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Only registries with an entry that changes something cost anything per resolution.
    effective: Mapping[str, Mapping[str, PlatformEntry]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        effective = {
            key: {slug: entry for slug, entry in rows.items() if not entry.neutral}
            for key, rows in self.entries.items()
        }
        object.__setattr__(self, "effective", {k: v for k, v in effective.items() if v})

    def entry(self, registry_key: str, slug: str) -> PlatformEntry | None:
        """Return the stored entry of ``registry_key.slug`` (whatever its scope), or None."""
        return self.entries.get(registry_key, {}).get(slug)

    def policy(
        self, registry_key: str, ordered: tuple[type[Strategy], ...], context: Context
    ) -> RegistryPolicy | None:
        """Return how the state applies to ``ordered`` in ``context`` (None: not at all)."""
        rows = self.effective.get(registry_key)
        if rows is None:
            return None
        applying = {slug: entry for slug, entry in rows.items() if entry.applies(context)}
        if not applying:
            return None

        def rank(strategy: type[Strategy]) -> tuple[int, str]:
            entry = applying.get(strategy.slug)
            override = None if entry is None else entry.priority
            return (strategy.priority if override is None else override, strategy.slug)

        by_rank = sorted(ordered, key=rank)
        status = {slug: entry.status for slug, entry in applying.items()}
        return RegistryPolicy(
            MappingProxyType(applying),
            tuple(s for s in by_rank if status.get(s.slug, Status.ACTIVE) is Status.ACTIVE),
            tuple(s for s in by_rank if status.get(s.slug) is Status.RESERVE),
        )


NO_PLATFORM_STATE = PlatformState()
