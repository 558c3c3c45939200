"""The one audit of stored selections that are not in force, and why.

``switchyard_doctor``, ``switchyard_inactive_selections`` and the platform page all build on
``audit_selections(tenant)``. A tenant's selection is judged for the tenant without a user, as
background jobs and ``engine.resolve(key, tenant=...)`` see it; a user's own selection for that
user. A selection that is not in force stays stored: it applies again once it is allowed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from conditions import Context
from engine import sets, tenancy
from engine.catalogue import registries
from engine.config import needs_text
from engine.exceptions import NoStrategyAvailable, UnknownRegistry, UnknownStrategy
from engine.models import Selection
from engine.namespace import StrategyNamespace
from engine.platform.load import platform_state
from engine.resolution import explain_strategy, is_available, platform_policy, platform_skip

# Why a stored selection is not in force (stable codes, used by reports and the doctor).
UNKNOWN_REGISTRY = "unknown_registry"
UNKNOWN_SLUG = "unknown_slug"
NOT_USER_SELECTABLE = "not_user_selectable"
UNAVAILABLE = "unavailable"
DISABLED_BY_PLATFORM = "disabled_by_platform"
HELD_IN_RESERVE = "reserve"
OVER_LIMIT = "over_limit"
NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class InactiveSelection:
    """A stored selection that is not in force, and why (it stays stored and may come back)."""

    tenant: str
    registry: str
    slug: str
    user: str | None  # the username of a user's own selection; None for the tenant's
    # UNKNOWN_REGISTRY, UNKNOWN_SLUG, UNAVAILABLE, NOT_CONFIGURED, NOT_USER_SELECTABLE,
    # OVER_LIMIT, DISABLED_BY_PLATFORM or HELD_IN_RESERVE; a set (a ``multiple`` registry) is
    # judged slug by slug: ``slug`` is then the one at fault.
    why: str
    detail: str
    in_force: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        owner = f"user {self.user}" if self.user else "tenant"
        instead = f"; in force: {self.in_force}" if self.in_force else ""
        return f"{self.registry}={self.slug} ({owner}): {self.detail}{instead}"


@dataclass
class SelectionAudit:
    """What one tenant stored: how many selections, and those not in force."""

    tenant: str
    examined: int = 0
    inactive: list[InactiveSelection] = field(default_factory=list)


def audit_selections(tenant: Any) -> SelectionAudit:
    """Return the selections of ``tenant`` (None: the one schema) that are not in force."""
    with tenancy.tenant_scope(tenant):
        name = tenancy.schema_of(tenant)
        rows = list(
            Selection.objects.order_by("registry", "user_id").values_list(
                "registry", "slug", "user_id"
            )
        )
        owners = {user_pk for _, _, user_pk in rows if user_pk is not None}
        users = get_user_model()._default_manager.in_bulk(owners) if owners else {}
        namespaces: dict[Any, StrategyNamespace] = {}

        def namespace_for(user_pk: Any) -> StrategyNamespace:
            # One context per user: each condition is evaluated once per user.
            if user_pk not in namespaces:
                context = Context(tenant=tenant, user=users.get(user_pk))
                namespaces[user_pk] = StrategyNamespace(context)
            return namespaces[user_pk]

        result = SelectionAudit(name, examined=len(rows))
        for key, slug, user_pk in rows:
            username = None if user_pk is None else _username(users.get(user_pk), user_pk)
            registry = registries().get(key)
            if (
                registry is not None
                and registry.multiple
                and (user_pk is None or registry.user_selectable)
            ):
                found = _judge_set(name, registry, slug, username, namespace_for(user_pk))
                result.inactive.extend(found)
                continue
            judged = _judge(name, key, slug, username, user_pk, namespace_for)
            if judged is not None:
                result.inactive.append(judged)
        return result


def in_force(namespace: StrategyNamespace, key: str) -> str | None:
    """Return the slug in force for registry ``key`` (None when nothing is available)."""
    try:
        return namespace.resolution(key).slug
    except NoStrategyAvailable:
        return None


def _judge(
    tenant: str,
    key: str,
    slug: str,
    username: str | None,
    user_pk: Any,
    namespace_for: Callable[[Any], StrategyNamespace],
) -> InactiveSelection | None:
    registry = registries().get(key)

    def inactive(why: str, detail: str, current: str | None) -> InactiveSelection:
        return InactiveSelection(tenant, key, slug, username, why, detail, current)

    if registry is None:
        return inactive(UNKNOWN_REGISTRY, str(UnknownRegistry(key, registries())), None)
    namespace = namespace_for(user_pk)
    current = in_force(namespace, key)
    if slug not in registry and not registry.multiple:
        return inactive(UNKNOWN_SLUG, str(UnknownStrategy(key, slug, registry.slugs())), current)
    if user_pk is not None and not registry.user_selectable:
        detail = (
            f"Registry {key!r} does not allow per-user selections (user_selectable is False "
            f"on {registry.__name__}): this selection is never used."
        )
        return inactive(NOT_USER_SELECTABLE, detail, current)
    if registry.multiple:  # a user's set where users may not choose (said above)
        return None
    strategy = registry.get(slug)
    context = namespace.context
    held = _held_by_platform(registry, slug, context)
    if held is not None:
        return inactive(*held, current)
    parent = namespace.parent(key, tenant_level=user_pk is None)
    if parent is not None and not parent.serves(strategy):
        return inactive(UNAVAILABLE, parent.text, current)  # kept until the parent serves it
    if not is_available(strategy, context):
        text = f"{explain_strategy(strategy, context).text} is not met"
        return inactive(UNAVAILABLE, text, current)
    absent = namespace.configuration(key, slug, tenant_level=user_pk is None).missing
    if absent:
        return inactive(NOT_CONFIGURED, needs_text(slug, absent), current)
    return None  # the first candidate of its level, so in force


def _held_by_platform(registry: Any, slug: str, context: Context) -> tuple[str, str] | None:
    """Return (code, detail) when the platform keeps ``slug`` from being used, else None."""
    policy = platform_policy(registry, context, platform_state(context))
    held = platform_skip(policy, slug, context)
    if held is None:
        return None
    why, note = held
    code = DISABLED_BY_PLATFORM if why.value == DISABLED_BY_PLATFORM else HELD_IN_RESERVE
    text = "disabled by the platform" if code == DISABLED_BY_PLATFORM else "held in reserve"
    return code, f"{text}: {note}" if note else text


def _judge_set(
    tenant: str,
    registry: Any,
    stored: str,
    username: str | None,
    namespace: StrategyNamespace,
) -> list[InactiveSelection]:
    """Judge each slug of a stored set like a single selection (the set itself stays)."""
    key = registry.key
    current = in_force(namespace, key)
    in_set = set(current.split(",")) if current else set()
    context = namespace.context
    found = []
    for slug in sets.split(stored):
        if slug in in_set:
            continue
        if slug not in registry:
            why, detail = UNKNOWN_SLUG, str(UnknownStrategy(key, slug, registry.slugs()))
        elif not is_available(registry.get(slug), context):
            text = explain_strategy(registry.get(slug), context).text
            why, detail = UNAVAILABLE, f"{text} is not met"
        elif current is not None and slug not in registry.mandatory:
            why = OVER_LIMIT
            detail = f"The set holds more than max_selected={registry.max_selected} strategies"
        else:
            continue
        found.append(InactiveSelection(tenant, key, slug, username, why, detail, current))
    return found


def _username(user: Any, user_pk: Any) -> str:
    return str(user.get_username()) if user is not None else f"#{user_pk}"
