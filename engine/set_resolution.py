"""Which strategies of a ``multiple`` registry are in force for a context, and why.

The set counterpart of ``engine.resolution`` (pure too: it decides from a registry, a
``Context`` and the ``StoredSelections`` it is handed). Each stored slug is checked like a
single selection: one that is unknown or unavailable is skipped, stays stored, and the
resolution records why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from conditions import Context
from engine import sets
from engine.exceptions import NoStrategyAvailable
from engine.platform.state import NO_PLATFORM_STATE, PlatformState
from engine.resolution import (
    NOTHING_STORED,
    Configured,
    ParentInForce,
    Reason,
    Resolution,
    Skipped,
    SkipReason,
    StoredSelections,
    authenticated,
    configuration,
    explain_strategy,
    forced_strategies,
    is_available,
    platform_policy,
    platform_skip,
    resolve,
)

if TYPE_CHECKING:
    from engine.registry import Registry
    from engine.strategy import Strategy

__all__ = ["AnyResolution", "SetResolution", "resolve_any", "resolve_set"]


@dataclass(frozen=True)
class SetResolution:
    """The ordered set in force of a ``multiple`` registry (instances built for the context).

    ``reasons`` says why each member is in force; ``reason`` where the set came from.
    ``strategy`` is the tuple of instances, as ``request.strategy.<key>`` returns it.
    """

    registry: type[Registry]
    strategies: tuple[Strategy, ...]
    strategy_classes: tuple[type[Strategy], ...]
    reasons: tuple[Reason, ...]
    reason: Reason
    skipped: tuple[Skipped, ...] = field(default=())

    multiple: ClassVar[bool] = True

    @property
    def strategy(self) -> tuple[Strategy, ...]:
        return self.strategies

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(strategy.slug for strategy in self.strategy_classes)

    @property
    def label(self) -> str:
        """The labels of the strategies in force, joined by commas."""
        return ", ".join(str(strategy.label) for strategy in self.strategy_classes)

    @property
    def slug(self) -> str:
        """The slugs in force joined by commas (as a set is stored and written by hand)."""
        return ",".join(self.slugs)

    def __str__(self) -> str:
        text = f"{self.registry.key}: {self.slug or 'nothing'} ({self.reason.description})"
        return "; ".join([text, *(f"skipped {skip}" for skip in self.skipped)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry.key,
            "slug": self.slug,
            "slugs": list(self.slugs),
            "reason": self.reason.value,
            "reasons": [reason.value for reason in self.reasons],
            "skipped": [skip.as_dict() for skip in self.skipped],
        }


AnyResolution = Resolution | SetResolution


def resolve_any(
    registry: type[Registry],
    context: Context,
    stored: StoredSelections = NOTHING_STORED,
    *,
    tenant_level: bool = False,
    platform: PlatformState = NO_PLATFORM_STATE,
    parent: ParentInForce | None = None,
) -> AnyResolution:
    """Return ``resolve_set()`` for a multiple registry, else ``resolve()`` (both obey the
    ``platform`` state; a child registry's under ``parent``, the parent strategy in force: see
    ``engine.resolution.resolve``)."""
    if registry.multiple:
        return resolve_set(registry, context, stored, tenant_level=tenant_level, platform=platform)
    return resolve(
        registry, context, stored, tenant_level=tenant_level, platform=platform, parent=parent
    )


def resolve_set(
    registry: type[Registry],
    context: Context,
    stored: StoredSelections = NOTHING_STORED,
    *,
    tenant_level: bool = False,
    platform: PlatformState = NO_PLATFORM_STATE,
) -> SetResolution:
    """Return the ordered set of ``registry`` (a ``multiple`` one) in force for ``context``.

    The mandatory strategies, then the first usable of: the user's set (it replaces the
    tenant's), the tenant's set (both in their stored order), the defaults (by priority). A
    set is usable when one of its slugs is; its other slugs are skipped with their reasons.
    Strategies by priority fill the set up to ``min_selected``; past ``max_selected`` the
    chosen ones are skipped. A strategy the ``platform`` disabled (or holds in reserve while an
    active one is available) is skipped wherever it comes from, mandatory ones included.
    """
    forced = forced_strategies.get()
    if forced and registry.key in forced:
        chosen = [
            (registry.get(slug), Reason.OVERRIDDEN) for slug in sets.split(forced[registry.key])
        ]
        picker = _SetPicker(registry, context, stored, tenant_level)
        return _set_resolution(registry, context, chosen, Reason.OVERRIDDEN, [], picker)
    picker = _SetPicker(registry, context, stored, tenant_level, platform)
    members = [(strategy, Reason.MANDATORY) for strategy in picker.mandatory.values()]
    source = Reason.MANDATORY if members else Reason.NONE_SELECTED
    for candidate, slugs in _set_candidates(registry, context, stored, tenant_level):
        picked = picker.pick(candidate, slugs)
        if picked:
            if candidate is Reason.DEFAULT:
                picked.sort(key=lambda strategy: (strategy.priority, strategy.slug))
            placed = {strategy.slug for strategy in picked}
            members = [m for m in members if m[0].slug not in placed]
            members += [
                (s, Reason.MANDATORY if s.slug in picker.mandatory else candidate) for s in picked
            ]
            source = candidate
            break
    members = picker.limit(members, source)
    if len(members) < registry.min_selected:
        members = picker.fill(members)
        if source is Reason.NONE_SELECTED and members:
            source = Reason.FALLBACK
    if not members and registry.min_selected > 0:
        raise _nothing_available(registry, context, picker.skipped)
    return _set_resolution(registry, context, members, source, picker.skipped, picker)


class _SetPicker:
    """Checks the slugs of the candidate sets of one resolution, recording what it skips."""

    def __init__(
        self,
        registry: type[Registry],
        context: Context,
        stored: StoredSelections,
        tenant_level: bool,
        platform: PlatformState = NO_PLATFORM_STATE,
    ) -> None:
        self.registry = registry
        self.context = context
        self.policy = platform_policy(registry, context, platform)
        self.stored = stored
        self.tenant_level = tenant_level
        self.configs: dict[type[Strategy], Configured] = {}
        self.by_slug = registry._members.by_slug
        self.skipped: list[Skipped] = []
        self.mandatory: dict[str, type[Strategy]] = {}
        for slug in registry.mandatory:
            strategy = self.check(Reason.MANDATORY, slug)
            if strategy is not None:
                self.mandatory[slug] = strategy

    def check(self, source: Reason, slug: str) -> type[Strategy] | None:
        """Return the strategy ``slug`` if it is usable, else record why it is skipped."""
        strategy = self.by_slug.get(slug)
        held = platform_skip(self.policy, slug, self.context)
        if strategy is None:
            self.skipped.append(Skipped(source, slug, SkipReason.UNKNOWN_SLUG))
        elif held is not None:
            self.skipped.append(Skipped(source, slug, held[0], note=held[1]))
        elif not is_available(strategy, self.context):
            why = explain_strategy(strategy, self.context)
            self.skipped.append(Skipped(source, slug, SkipReason.UNAVAILABLE, why))
        elif self.configured(strategy):
            return strategy
        else:
            missing = self.configs[strategy].missing
            self.skipped.append(Skipped(source, slug, SkipReason.NOT_CONFIGURED, missing=missing))
        return None

    def configured(self, strategy: type[Strategy]) -> bool:
        """Return whether ``strategy``'s required configuration is there (kept for the build)."""
        config = self.configs.get(strategy)
        if config is None:
            config = configuration(strategy, self.context, self.stored, self.tenant_level)
            self.configs[strategy] = config
        return not config.missing

    def pick(self, source: Reason, slugs: tuple[str, ...]) -> list[type[Strategy]]:
        """Return the usable strategies of one candidate set, in its order."""
        picked: list[type[Strategy]] = []
        for slug in slugs:
            if slug in self.registry.mandatory:
                if slug in self.mandatory:  # an unavailable one is skipped once, as mandatory
                    picked.append(self.mandatory[slug])
                continue
            strategy = self.check(source, slug)
            if strategy is not None and strategy not in picked:
                picked.append(strategy)
        return picked

    def limit(
        self, members: list[tuple[type[Strategy], Reason]], source: Reason
    ) -> list[tuple[type[Strategy], Reason]]:
        """Skip the chosen (not mandatory) members past ``max_selected``."""
        limit = self.registry.max_selected
        if limit is None or len(members) <= limit:
            return members
        room = max(limit - len(self.mandatory), 0)
        kept: list[tuple[type[Strategy], Reason]] = []
        for strategy, reason in members:
            if reason is Reason.MANDATORY or room > 0:
                room -= reason is not Reason.MANDATORY
                kept.append((strategy, reason))
            else:
                self.skipped.append(Skipped(source, strategy.slug, SkipReason.OVER_LIMIT))
        return kept

    def fill(
        self, members: list[tuple[type[Strategy], Reason]]
    ) -> list[tuple[type[Strategy], Reason]]:
        """Add available strategies by priority until the set has ``min_selected``."""
        taken = {strategy for strategy, _ in members}
        filled = list(members)
        for strategy in self.registry._members.ordered:
            if len(filled) >= self.registry.min_selected:
                break
            usable = (
                platform_skip(self.policy, strategy.slug, self.context) is None
                and is_available(strategy, self.context)
                and self.configured(strategy)
            )
            if strategy not in taken and usable:
                filled.append((strategy, Reason.FALLBACK))
        return filled


def _set_candidates(
    registry: type[Registry], context: Context, stored: StoredSelections, tenant_level: bool
) -> list[tuple[Reason, tuple[str, ...]]]:
    key = registry.key
    candidates: list[tuple[Reason, tuple[str, ...]]] = []
    if not tenant_level and registry.user_selectable and authenticated(context.user):
        candidates.append((Reason.USER_SELECTION, sets.split(stored.user_choice(key))))
    candidates.append((Reason.TENANT_SELECTION, sets.split(stored.tenant_choice(key))))
    candidates.append((Reason.DEFAULT, registry.defaults()))
    return [(source, slugs) for source, slugs in candidates if slugs]


def _set_resolution(
    registry: type[Registry],
    context: Context,
    members: list[tuple[type[Strategy], Reason]],
    reason: Reason,
    skipped: list[Skipped],
    picker: _SetPicker,
) -> SetResolution:
    return SetResolution(
        registry,
        tuple(_build(registry, strategy, context, picker) for strategy, _ in members),
        tuple(strategy for strategy, _ in members),
        tuple(why for _, why in members),
        reason,
        tuple(skipped),
    )


def _build(
    registry: type[Registry], strategy: type[Strategy], context: Context, picker: _SetPicker
) -> Strategy:
    instance = registry.build(strategy, context)
    picker.configured(strategy)  # a forced member was never checked
    config = picker.configs[strategy]
    if config.values is not None:
        instance.config = config.values
    return instance


def _nothing_available(
    registry: type[Registry], context: Context, skipped: list[Skipped]
) -> NoStrategyAvailable:
    explanations = [
        (strategy.slug, explain_strategy(strategy, context)) for strategy in registry.strategies()
    ]
    return NoStrategyAvailable(registry.key, explanations, skipped)
