"""Which strategy of a registry is in force for a context, and why.

The order: the user's own selection (only if the registry is ``user_selectable`` and the
context has an authenticated user) → the tenant's selection → the registry's ``default`` →
the first available strategy by ``(priority, slug)`` → ``NoStrategyAvailable``. Every
candidate must pass its condition and, in a child registry, serve the parent strategy in force
(``ParentInForce``: the parent registry resolved for the same context). A stored slug that is
unknown or unavailable is skipped (and stays stored: it comes back when it is allowed again);
the resolution records why.

The platform state (``engine.platform.state``) comes first: a strategy the platform disabled
is never used (a stored choice of it is skipped with ``disabled_by_platform`` and the
platform's note, and comes back when it is enabled again), one held in reserve only when no
active strategy of the registry is available, and a priority override reorders the fallback.

A registry holding a set (``multiple = True``) is resolved by ``engine.set_resolution``.

This module is pure: it decides from a registry, a ``Context``, the ``StoredSelections`` and
the ``PlatformState`` it is handed, and does no I/O of its own (``engine.storage`` reads the
selections, ``engine.namespace`` joins the two for a request). Conditions may still look things up
through the context (a user's permissions), memoised per context.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import SynchronousOnlyOperation

from conditions import Condition, Context, Explanation
from engine.config import ConfigValues, StoredConfig, config_class, judge, needs_text
from engine.exceptions import NoStrategyAvailable, RegistrationError, UnknownRegistry
from engine.platform.state import NO_PLATFORM_STATE, PlatformState, RegistryPolicy, Status

if TYPE_CHECKING:
    from engine.registry import Registry
    from engine.strategy import Strategy

logger = logging.getLogger("switchyard.engine")

# Forced outcomes for tests (engine.testing): registry key -> slug, strategy class -> condition.
# Context variables, so an override in one thread or task never leaks into another.
forced_strategies: ContextVar[Mapping[str, str]] = ContextVar(
    "switchyard_forced_strategies", default=MappingProxyType({})
)
forced_conditions: ContextVar[Mapping[type, Condition]] = ContextVar(
    "switchyard_forced_conditions", default=MappingProxyType({})
)

_EMPTY: Mapping[str, str] = MappingProxyType({})
_EMPTY_CONFIGS: Mapping[str, Any] = MappingProxyType({})
FAILURES_MEMO = "_switchyard_failed_strategies"


@dataclass(frozen=True)
class StoredSelections:
    """What one tenant (schema) and one of its users stored: the input of a resolution."""

    schema: str
    tenant_choices: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # user is None
    user_choices: Mapping[str, str] = field(default_factory=lambda: _EMPTY)  # for user_pk
    user_pk: Any = field(default=None, compare=False)
    # registry key -> slug -> StoredConfig: the tenant's configurations, and the user's.
    tenant_configs: Mapping[str, Mapping[str, StoredConfig]] = field(
        default_factory=lambda: _EMPTY_CONFIGS
    )
    user_configs: Mapping[str, Mapping[str, StoredConfig]] = field(
        default_factory=lambda: _EMPTY_CONFIGS
    )

    def config(self, registry_key: str, slug: str, *, user: bool = False) -> StoredConfig | None:
        """Return the configuration the tenant (``user``: the user) stored for a strategy."""
        configs = self.user_configs if user else self.tenant_configs
        return configs.get(registry_key, _EMPTY_CONFIGS).get(slug)

    def tenant_choice(self, registry_key: str) -> str | None:
        """Return the slug the tenant stored for ``registry_key``, or None."""
        return self.tenant_choices.get(registry_key)

    def user_choice(self, registry_key: str) -> str | None:
        """Return the slug the context's user stored for ``registry_key``, or None."""
        return self.user_choices.get(registry_key)


NOTHING_STORED = StoredSelections("")


class Reason(enum.StrEnum):
    """Why the strategy in force was chosen."""

    USER_SELECTION = "user_selection"
    TENANT_SELECTION = "tenant_selection"
    DEFAULT = "default"
    FALLBACK = "fallback"
    OVERRIDDEN = "overridden"
    MANDATORY = "mandatory"
    NONE_SELECTED = "none_selected"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    Reason.USER_SELECTION: "the user's own selection",
    Reason.TENANT_SELECTION: "the tenant's selection",
    Reason.DEFAULT: "the registry's default",
    Reason.FALLBACK: "the first available strategy by priority",
    Reason.OVERRIDDEN: "forced by engine.testing.override_strategy",
    Reason.MANDATORY: "a mandatory strategy of the registry",
    Reason.NONE_SELECTED: "nothing selected (min_selected is 0)",
}


class SkipReason(enum.StrEnum):
    """Why a candidate (a stored selection or the default) was not used."""

    UNKNOWN_SLUG = "unknown_slug"
    UNAVAILABLE = "unavailable"
    DISABLED_BY_PLATFORM = "disabled_by_platform"
    RESERVE = "reserve"  # held in reserve while an active strategy is available
    OVER_LIMIT = "over_limit"
    NOT_CONFIGURED = "not_configured"
    NOT_UNDER_PARENT = "not_under_parent"


@dataclass(frozen=True)
class ParentInForce:
    """The parent registry's strategy a child registry is judged under (``slug`` None: none)."""

    key: str
    slug: str | None

    @property
    def text(self) -> str:
        """Why a child strategy that does not serve this parent is not valid, in words."""
        if self.slug is None:
            return f"not valid: {self.key} has no strategy in force"
        return f"not valid under {self.key}={self.slug}"

    def serves(self, strategy: type[Strategy]) -> bool:
        """Return whether ``strategy`` (of the child registry) is valid under this parent."""
        if self.slug is None:
            return False
        return strategy.parents is None or self.slug in strategy.parents

    def explanation(self) -> Explanation:
        """Return the unmet node that ``explain()`` shows for a strategy not valid here."""
        return Explanation(self.text, False)


@dataclass(frozen=True)
class Skipped:
    """A candidate passed over: where it came from, its slug, why, and its explanation."""

    source: Reason
    slug: str
    why: SkipReason
    explanation: Explanation | None = None
    note: str = ""  # the platform's note, for disabled_by_platform and reserve
    # The configuration fields missing or invalid (``NOT_CONFIGURED``).
    missing: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.why is SkipReason.UNKNOWN_SLUG:
            return f"{self.source.description} {self.slug!r} is not a registered strategy"
        if self.why is SkipReason.DISABLED_BY_PLATFORM:
            note = f": {self.note}" if self.note else ""
            return f"{self.source.description} {self.slug!r} is disabled by the platform{note}"
        if self.why is SkipReason.RESERVE:
            return (
                f"{self.source.description} {self.slug!r} is held in reserve by the platform "
                "while an active strategy is available"
            )
        if self.why is SkipReason.NOT_UNDER_PARENT and self.explanation is not None:
            return f"{self.source.description} {self.slug!r} is {self.explanation.text}"
        if self.why is SkipReason.OVER_LIMIT:
            return f"{self.source.description} {self.slug!r} is over the registry's max_selected"
        if self.why is SkipReason.NOT_CONFIGURED:
            return f"{self.source.description} {self.slug!r} is not configured: " + needs_text(
                self.slug, self.missing
            )
        text = self.explanation.text if self.explanation is not None else "its condition"
        return f"{self.source.description} {self.slug!r} is unavailable: {text} is not met"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.value,
            "slug": self.slug,
            "why": self.why.value,
            "note": self.note,
            "explanation": self.explanation.as_dict() if self.explanation is not None else None,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class Resolution:
    """The strategy in force (an instance built for the context), its class, and why."""

    registry: type[Registry]
    strategy: Strategy
    strategy_class: type[Strategy]
    reason: Reason
    skipped: tuple[Skipped, ...] = field(default=())

    multiple: ClassVar[bool] = False

    @property
    def slug(self) -> str:
        return self.strategy_class.slug

    @property
    def label(self) -> str:
        """The label of the strategy in force."""
        return str(self.strategy_class.label)

    @property
    def slugs(self) -> tuple[str, ...]:
        """The slug in force, as a one-item tuple (as ``SetResolution.slugs``)."""
        return (self.strategy_class.slug,)

    @property
    def strategy_classes(self) -> tuple[type[Strategy], ...]:
        """The strategy class in force, as a one-item tuple (as ``SetResolution``)."""
        return (self.strategy_class,)

    def __str__(self) -> str:
        text = f"{self.registry.key}: {self.slug} ({self.reason.description})"
        return "; ".join([text, *(f"skipped {skip}" for skip in self.skipped)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry.key,
            "slug": self.slug,
            "reason": self.reason.value,
            "skipped": [skip.as_dict() for skip in self.skipped],
        }


def condition_of(strategy: type[Strategy]) -> Condition:
    """Return the condition in force for ``strategy`` (its own, unless a test overrides it)."""
    forced = forced_conditions.get()
    if forced:
        override = forced.get(strategy)
        if override is not None:
            return override
    return strategy.condition


def is_available(strategy: type[Strategy], context: Context) -> bool:
    """Return whether ``strategy``'s condition is met; a condition that raises is not met."""
    try:
        return condition_of(strategy).truth(context) is True
    except Exception as error:
        # Leaves already fail closed; this catches a custom Condition that raises itself.
        # SynchronousOnlyOperation: the database was needed in an event loop (see namespace).
        if context.strict or isinstance(error, SynchronousOnlyOperation):
            raise
        _log_failure(strategy, context, error)
        return False


def available(
    strategies: tuple[type[Strategy], ...], context: Context, parent: ParentInForce | None = None
) -> list[type[Strategy]]:
    """Return those of ``strategies`` whose condition is met in ``context``, in order (and, for
    a child registry's, that serve ``parent``)."""
    if parent is not None:
        strategies = tuple(strategy for strategy in strategies if parent.serves(strategy))
    if not forced_conditions.get():
        try:
            # The hot path: conditions fail closed themselves (a raising leaf is "not met").
            return [
                strategy for strategy in strategies if strategy.condition.truth(context) is True
            ]
        except SynchronousOnlyOperation:
            raise
        except Exception:
            pass  # a custom condition raised by itself: judge each strategy on its own below
    return [strategy for strategy in strategies if is_available(strategy, context)]


def platform_policy(
    registry: type[Registry], context: Context, platform: PlatformState
) -> RegistryPolicy | None:
    """Return how ``platform`` applies to ``registry`` in ``context`` (None: not at all)."""
    return platform.policy(registry.key, registry._members.ordered, context)


def offered(
    registry: type[Registry], context: Context, platform: PlatformState = NO_PLATFORM_STATE
) -> list[type[Strategy]]:
    """Return the strategies of ``registry`` offered in ``context``: available, and allowed by
    the platform (reserve ones only when no active one is available), in fallback order."""
    policy = platform_policy(registry, context, platform)
    if policy is None:
        return available(registry._members.ordered, context)
    return available(policy.active, context) or available(policy.reserve, context)


def platform_skip(
    policy: RegistryPolicy | None, slug: str, context: Context
) -> tuple[SkipReason, str] | None:
    """Return why the platform keeps ``slug`` from being used in ``context`` (None: it does not)."""
    if policy is None:
        return None
    status = policy.status(slug)
    if status is Status.DISABLED:
        return SkipReason.DISABLED_BY_PLATFORM, policy.note(slug)
    if status is Status.RESERVE and available(policy.active, context):
        return SkipReason.RESERVE, policy.note(slug)
    return None


def explain_strategy(
    strategy: type[Strategy], context: Context, parent: ParentInForce | None = None
) -> Explanation:
    """Return the explanation of ``strategy``'s condition; an error becomes an unmet node.

    A child strategy that does not serve ``parent`` is an unmet node saying so ("not valid
    under payments=invoice"), its condition's explanation below it.
    """
    if parent is not None and not parent.serves(strategy):
        own = explain_strategy(strategy, context)
        return Explanation(parent.text, False, children=(own,))
    condition = condition_of(strategy)
    try:
        return condition.explain(context)
    except Exception as error:
        if context.strict or isinstance(error, SynchronousOnlyOperation):
            raise
        _log_failure(strategy, context, error)
        return Explanation(str(condition), False, error=error)


def resolve(
    registry: type[Registry],
    context: Context,
    stored: StoredSelections = NOTHING_STORED,
    *,
    tenant_level: bool = False,
    platform: PlatformState = NO_PLATFORM_STATE,
    parent: ParentInForce | None = None,
) -> Resolution:
    """Return the strategy of ``registry`` in force for ``context``, given what is ``stored``
    and the ``platform`` state.

    ``tenant_level`` leaves the user's own selection out: what applies to the tenant (and to
    a user without a choice of their own), as the tenant's settings form shows it. For a child
    registry ``parent`` is the parent strategy in force (``engine.namespace`` passes its
    memoised one); None resolves the parent here, from the same inputs.
    """
    overridden = _overridden(registry, context, stored, tenant_level)
    if overridden is not None:
        return overridden
    if parent is None:
        parent = parent_in_force(
            registry, context, stored, tenant_level=tenant_level, platform=platform
        )

    members = registry._members  # one consistent state, even if a class is defined meanwhile
    policy = platform_policy(registry, context, platform)
    skipped: list[Skipped] = []
    tried: set[str] = set()
    for source, slug in _candidates(registry, context, stored, tenant_level):
        if slug is None or slug in tried:
            continue
        tried.add(slug)
        strategy = members.by_slug.get(slug)
        skip, judged = _judge_candidate(
            strategy, source, slug, context, stored, tenant_level, policy, parent
        )
        if skip is None and strategy is not None:
            return _resolution(registry, strategy, context, source, skipped, judged)
        if skip is not None:
            skipped.append(skip)

    fallbacks = members.ordered if policy is None else (*policy.active, *_reserve(policy, context))
    for strategy in _serving(fallbacks, parent):
        if strategy.slug not in tried and is_available(strategy, context):
            config = configuration(strategy, context, stored, tenant_level)
            if not config.missing:
                return _resolution(registry, strategy, context, Reason.FALLBACK, skipped, config)

    explanations = [
        (strategy.slug, _why_not(strategy, context, policy, parent)) for strategy in members.ordered
    ]
    raise NoStrategyAvailable(registry.key, explanations, skipped)


def _why_not(
    strategy: type[Strategy],
    context: Context,
    policy: RegistryPolicy | None,
    parent: ParentInForce | None,
) -> Explanation:
    """Return why ``strategy`` is not offered: the platform's word, else its condition."""
    if policy is not None and policy.status(strategy.slug) is Status.DISABLED:
        note = policy.note(strategy.slug)
        return Explanation("disabled by the platform" + (f": {note}" if note else ""), False)
    return explain_strategy(strategy, context, parent)


def _judge_candidate(
    strategy: type[Strategy] | None,
    source: Reason,
    slug: str,
    context: Context,
    stored: StoredSelections,
    tenant_level: bool,
    policy: RegistryPolicy | None,
    parent: ParentInForce | None = None,
) -> tuple[Skipped | None, Configured | None]:
    """Return why a candidate is skipped (unknown, held back by the platform, unavailable or
    not configured), else None and its configuration."""
    if strategy is None:
        return Skipped(source, slug, SkipReason.UNKNOWN_SLUG), None
    held = platform_skip(policy, slug, context)
    if held is not None:
        return Skipped(source, slug, held[0], note=held[1]), None
    return _judge(source, strategy, context, stored, tenant_level, parent)


def _reserve(policy: RegistryPolicy, context: Context) -> tuple[type[Strategy], ...]:
    # Reserve strategies are fallbacks only when no active strategy is available at all.
    return () if available(policy.active, context) else policy.reserve


def _serving(
    strategies: tuple[type[Strategy], ...], parent: ParentInForce | None
) -> tuple[type[Strategy], ...]:
    """Return those of ``strategies`` valid under ``parent`` (all of them without a parent)."""
    if parent is None:
        return strategies
    return tuple(strategy for strategy in strategies if parent.serves(strategy))


def _overridden(
    registry: type[Registry], context: Context, stored: StoredSelections, tenant_level: bool
) -> Resolution | None:
    """Return the resolution a test forced (``engine.testing.override_strategy``), if any;
    ``TypeError`` for a set registry (``resolve_set()`` resolves those)."""
    if registry.multiple:
        raise TypeError(f"{registry.key!r} holds a set: use resolve_set() (or resolve_any())")
    forced = forced_strategies.get()
    if not forced or registry.key not in forced:
        return None
    chosen = registry.get(forced[registry.key])
    config = configuration(chosen, context, stored, tenant_level)
    return _resolution(registry, chosen, context, Reason.OVERRIDDEN, [], config)


def parent_in_force(
    registry: type[Registry],
    context: Context,
    stored: StoredSelections = NOTHING_STORED,
    *,
    tenant_level: bool = False,
    platform: PlatformState = NO_PLATFORM_STATE,
) -> ParentInForce | None:
    """Return the parent strategy ``registry`` is judged under (None: it has no parent).

    The parent is resolved from the same inputs; when nothing of it is available the child has
    nothing valid either (``ParentInForce.slug`` is None).
    """
    if registry.parent is None:
        return None
    parent = parent_registry_of(registry)
    if parent is None:
        return ParentInForce(registry.parent, None)
    try:
        slug: str | None = resolve(
            parent, context, stored, tenant_level=tenant_level, platform=platform
        ).slug
    except NoStrategyAvailable:
        slug = None
    return ParentInForce(parent.key, slug)


def parent_registry_of(registry: type[Registry]) -> type[Registry] | None:
    """Return ``registry``'s parent registry; None when it is unknown or the parents cycle.

    Both are system check errors (``switchyard.E040``, ``E042``); at run time the child then
    has nothing valid (fail closed) instead of turning a page into a 500.
    """
    try:
        return registry.parent_registry()
    except (UnknownRegistry, RegistrationError):
        logger.warning(
            "Registry %r has no usable parent registry %r (see manage.py check): "
            "none of its strategies is valid",
            registry.key,
            registry.parent,
        )
        return None


def _judge(
    source: Reason,
    strategy: type[Strategy],
    context: Context,
    stored: StoredSelections,
    tenant_level: bool,
    parent: ParentInForce | None = None,
) -> tuple[Skipped | None, Configured | None]:
    """Return why a stored (or default) candidate is skipped, else None and its configuration."""
    if parent is not None and not parent.serves(strategy):
        return Skipped(
            source, strategy.slug, SkipReason.NOT_UNDER_PARENT, parent.explanation()
        ), None
    if not is_available(strategy, context):
        why = explain_strategy(strategy, context)
        return Skipped(source, strategy.slug, SkipReason.UNAVAILABLE, why), None
    config = configuration(strategy, context, stored, tenant_level)
    if config.missing:
        skip = Skipped(source, strategy.slug, SkipReason.NOT_CONFIGURED, missing=config.missing)
        return skip, None
    return None, config


def _candidates(
    registry: type[Registry], context: Context, stored: StoredSelections, tenant_level: bool
) -> list[tuple[Reason, str | None]]:
    key = registry.key
    candidates: list[tuple[Reason, str | None]] = []
    if not tenant_level and registry.user_selectable and authenticated(context.user):
        candidates.append((Reason.USER_SELECTION, stored.user_choice(key)))
    candidates.append((Reason.TENANT_SELECTION, stored.tenant_choice(key)))
    candidates.append((Reason.DEFAULT, registry.default))
    return candidates


def _resolution(
    registry: type[Registry],
    strategy: type[Strategy],
    context: Context,
    reason: Reason,
    skipped: list[Skipped],
    config: Configured | None = None,
) -> Resolution:
    instance = registry.build(strategy, context)
    if config is not None and config.values is not None:
        instance.config = config.values
    return Resolution(registry, instance, strategy, reason, tuple(skipped))


@dataclass(frozen=True)
class Configured:
    """A strategy's configuration for a context: its values, and the fields still missing."""

    values: ConfigValues | None
    missing: tuple[str, ...] = ()


_UNCONFIGURED = Configured(None)


def configuration(
    strategy: type[Strategy],
    context: Context,
    stored: StoredSelections = NOTHING_STORED,
    tenant_level: bool = False,
) -> Configured:
    """Return ``strategy``'s configuration in ``context``: the user's own (``user_selectable``
    registries), else the tenant's; ``missing`` names the required fields not usable."""
    config_cls = config_class(strategy)
    if config_cls is None:
        return _UNCONFIGURED
    key = strategy.registry.key if strategy.registry is not None else ""
    found = None
    registry = strategy.registry
    own = not tenant_level and registry is not None and registry.user_selectable
    if own and authenticated(context.user):
        found = stored.config(key, strategy.slug, user=True)
    if found is None:
        found = stored.config(key, strategy.slug)
    absent, cleaned = judge(config_cls, found)
    return Configured(ConfigValues(config_cls, found, context, cleaned), absent)


def authenticated(user: Any) -> bool:
    return user is not None and bool(getattr(user, "is_authenticated", False))


def _log_failure(strategy: type[Strategy], context: Context, error: Exception) -> None:
    logged: set[type] = context.extra.setdefault(FAILURES_MEMO, set())
    if strategy in logged:
        return
    logged.add(strategy)
    logger.warning(
        "The condition of strategy %r raised %s: %s; the strategy counts as unavailable",
        getattr(strategy, "slug", strategy),
        type(error).__name__,
        error,
        exc_info=error,
    )
