"""Why each strategy of a registry is or is not available, and which one is in force."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conditions import Context, Explanation
from engine.config import needs_text
from engine.exceptions import NoStrategyAvailable
from engine.platform.state import NO_PLATFORM_STATE, PlatformState, Status
from engine.resolution import (
    NOTHING_STORED,
    ParentInForce,
    Skipped,
    StoredSelections,
    configuration,
    explain_strategy,
    offered,
    parent_in_force,
    platform_policy,
)
from engine.set_resolution import AnyResolution, resolve_any

if TYPE_CHECKING:
    from engine.registry import Registry
    from engine.strategy import Strategy


@dataclass(frozen=True)
class StrategyExplanation:
    """One strategy of a registry: whether it is available, why, and whether it is in force."""

    strategy_class: type[Strategy]
    available: bool  # offered: its condition is met and the platform allows it
    in_force: bool
    explanation: Explanation
    # The configuration fields missing or invalid: not available (``not_configured``).
    missing: tuple[str, ...] = ()
    status: Status = Status.ACTIVE  # the platform's status of it for this context
    note: str = ""  # the platform's note

    @property
    def slug(self) -> str:
        return self.strategy_class.slug

    @property
    def platform_text(self) -> str:
        """Why the platform keeps it from being offered ("" when it does not)."""
        if self.status is Status.DISABLED:
            return "disabled by the platform" + (f": {self.note}" if self.note else "")
        if self.status is Status.RESERVE and not self.available and self.explanation.result:
            return "held in reserve by the platform while an active strategy is available"
        return ""

    @property
    def not_configured(self) -> str:
        """Return "stripe needs secret_key" when configuration is missing, else ''."""
        return needs_text(self.slug, self.missing) if self.missing else ""

    def lines(self) -> list[str]:
        mark = "✓" if self.available else "✗"
        notes = " [in force]" if self.in_force else ""
        if self.platform_text:
            notes += f" [{self.platform_text}]"
        if self.missing:
            notes += f" [not_configured: {self.not_configured}]"
        head = f"  {mark} {self.slug} ({self.strategy_class.label}){notes}"
        return [head, *(f"    {line}" for line in self.explanation.lines())]

    def as_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "label": str(self.strategy_class.label),
            "priority": self.strategy_class.priority,
            "available": self.available,
            "in_force": self.in_force,
            "status": self.status.value,
            "note": self.note,
            "explanation": self.explanation.as_dict(),
            "not_configured": self.not_configured or None,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class RegistryExplanation:
    """Every strategy of a registry explained, plus the resolution (or why there is none);
    ``parent`` is the parent strategy a child registry was judged under."""

    registry: type[Registry]
    strategies: tuple[StrategyExplanation, ...]
    resolution: AnyResolution | None
    error: NoStrategyAvailable | None = None
    parent: ParentInForce | None = None

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        """The stored selections (and default) passed over, and why."""
        if self.resolution is not None:
            return self.resolution.skipped
        return self.error.skipped if self.error is not None else ()

    @property
    def in_force(self) -> StrategyExplanation | None:
        """The (first) strategy in force, explained; None when nothing is."""
        return next((entry for entry in self.strategies if entry.in_force), None)

    @property
    def in_force_all(self) -> tuple[StrategyExplanation, ...]:
        """Every strategy in force (several for a ``multiple`` registry), in the set's order."""
        if self.resolution is None:
            return ()
        by_class = {entry.strategy_class: entry for entry in self.strategies}
        return tuple(by_class[cls] for cls in self.resolution.strategy_classes if cls in by_class)

    def __getitem__(self, slug: str) -> StrategyExplanation:
        for entry in self.strategies:
            if entry.slug == slug:
                return entry
        self.registry.get(slug)  # raises UnknownStrategy with a suggestion
        raise KeyError(slug)  # pragma: no cover - get() raised already

    def lines(self) -> list[str]:
        key = self.registry.key
        if self.resolution is not None:
            slug = self.resolution.slug or "nothing"
            head = f"{key}: {slug} ({self.resolution.reason.description})"
        else:
            head = f"{key}: no strategy is available"
        if self.parent is not None:
            head += f" [under {self.parent.key}={self.parent.slug or 'nothing'}]"
        lines = [head, *(f"  skipped: {skip}" for skip in self.skipped)]
        for entry in self.strategies:
            lines.extend(entry.lines())
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry.key,
            "in_force": self.resolution.as_dict() if self.resolution is not None else None,
            "error": str(self.error) if self.error is not None else None,
            "parent": (
                {"registry": self.parent.key, "slug": self.parent.slug}
                if self.parent is not None
                else None
            ),
            "skipped": [skip.as_dict() for skip in self.skipped],
            "strategies": [entry.as_dict() for entry in self.strategies],
        }


def explain(
    registry: type[Registry],
    context: Context,
    stored: StoredSelections = NOTHING_STORED,
    resolution: AnyResolution | None = None,
    platform: PlatformState = NO_PLATFORM_STATE,
    parent: ParentInForce | None = None,
) -> RegistryExplanation:
    """Explain every strategy of ``registry`` in ``context`` (reusing ``resolution`` if given).

    Pure, like ``engine.resolution``: ``stored`` is what the tenant and user stored,
    ``platform`` the platform's state; ``parent`` is a child registry's parent strategy in
    force (None: resolved here from the same inputs).
    """
    if parent is None:
        parent = parent_in_force(registry, context, stored, platform=platform)
    error: NoStrategyAvailable | None = None
    if resolution is None:
        try:
            resolution = resolve_any(registry, context, stored, platform=platform, parent=parent)
        except NoStrategyAvailable as raised:
            error = raised
    in_force = set(resolution.strategy_classes) if resolution is not None else set()
    policy = platform_policy(registry, context, platform)
    allowed = set(offered(registry, context, platform)) if policy is not None else None
    entries = []
    for strategy in registry.strategies():
        explanation = explain_strategy(strategy, context, parent)
        absent = configuration(strategy, context, stored).missing
        status = Status.ACTIVE if policy is None else policy.status(strategy.slug)
        note = "" if policy is None else policy.note(strategy.slug)
        is_offered = explanation.result is True and (allowed is None or strategy in allowed)
        entries.append(
            StrategyExplanation(
                strategy,
                is_offered and not absent,
                strategy in in_force,
                explanation,
                absent,
                status=status,
                note=note,
            )
        )
    return RegistryExplanation(registry, tuple(entries), resolution, error, parent)
