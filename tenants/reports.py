"""Cross-tenant reports for the platform: what is in force where, and which selections are not.

Both walk the tenants once. Each tenant's selections come through the engine's namespace (one
cache round trip, one query on a miss), so a report costs O(tenants) whatever the number of
registries; which selections are not in force is ``engine.audit``'s to say. Work that needs a
tenant's schema runs inside ``tenant_context``, which always
switches the connection back, also when a resolution raises.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name, get_tenant_model

from conditions import Context
from engine import tenancy
from engine.audit import InactiveSelection, audit_selections
from engine.exceptions import NoStrategyAvailable
from engine.namespace import StrategyNamespace
from engine.registry import Registry, registries
from engine.resolution import Reason, StoredSelections
from engine.storage.reads import read_many
from tenants.tenant_model import plan_or_none, tenant_name

# Any instance of the project's TENANT_MODEL (ours or its own).
Tenant = Any


@dataclass(frozen=True)
class RegistryState:
    """One registry for one tenant: the strategy in force, why, and what the tenant stored."""

    registry: str
    slug: str | None  # None: nothing is available (see error)
    reason: Reason | None
    stored: str | None  # the tenant's own selection, in force or not
    skipped: tuple[str, ...] = ()  # why stored or default candidates were passed over
    error: str = ""

    @property
    def own_choice(self) -> bool:
        """Whether the strategy in force is the one the tenant selected."""
        return self.reason is Reason.TENANT_SELECTION

    def as_dict(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "slug": self.slug,
            "reason": self.reason.value if self.reason is not None else None,
            "own_choice": self.own_choice,
            "stored": self.stored,
            "skipped": list(self.skipped),
            "error": self.error,
        }


@dataclass(frozen=True)
class TenantStrategies:
    """A tenant and the state of every registry for it."""

    schema_name: str
    name: str
    plan: str | None  # what SWITCHYARD["TENANT_PLAN"] gives (None: no plan)
    registries: tuple[RegistryState, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.schema_name,
            "name": self.name,
            "plan": self.plan,
            "registries": [state.as_dict() for state in self.registries],
        }


@dataclass(frozen=True)
class FlagState:
    """A platform flag: what it targets, and whether it is on for each tenant."""

    name: str
    note: str
    targets: tuple[str, ...]
    # (schema name, "on" | "off" | "per user"): "per user" when only request or user rules
    # (staff, superusers, logged-in users, a percentage of requests, ...) can turn it on.
    tenants: tuple[tuple[str, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "note": self.note,
            "targets": list(self.targets),
            "tenants": dict(self.tenants),
        }


def platform_flags(tenants: Iterable[Tenant] | None = None) -> list[FlagState]:
    """Return every platform flag with its targeting and its state for each tenant (one query)."""
    from tenants.flags import PlatformFlag

    tenants = all_tenants() if tenants is None else list(tenants)
    return [
        FlagState(
            flag.name,
            flag.note,
            _targets(flag),
            tuple((tenant.schema_name, _flag_state(flag, tenant)) for tenant in tenants),
        )
        for flag in PlatformFlag.objects.order_by("name")
    ]


def _targets(flag: Any) -> tuple[str, ...]:
    if flag.everyone is not None:
        return (f"everyone: {'on' if flag.everyone else 'off'}",)
    found = []
    if flag.tenants:
        found.append("tenants: " + ", ".join(flag.tenants))
    if flag.plans:
        found.append("plans: " + ", ".join(flag.plans))
    if flag.tenant_percent:
        found.append(f"{flag.tenant_percent} % of tenants")
    found.extend(kind for kind in ("staff", "superusers", "authenticated") if getattr(flag, kind))
    if flag.percent:
        found.append(f"{flag.percent} % of requests")
    if flag.testing:
        found.append("testing")
    if flag.languages:
        found.append("languages: " + flag.languages)
    return tuple(found) or ("nobody",)


def _flag_state(flag: Any, tenant: Tenant) -> str:
    if flag.everyone is not None:
        return "on" if flag.everyone else "off"
    if flag.is_active_for_tenant(tenant):
        return "on"
    per_request = (flag.staff, flag.superusers, flag.authenticated, flag.percent, flag.testing)
    if any(per_request) or flag.languages:
        return "per user"
    return "off"


def all_tenants() -> list[Tenant]:
    """Return every tenant but the public (platform) one, by schema name."""
    return list(tenants_queryset())


def tenants_queryset() -> QuerySet[Any]:
    """Every tenant but the public (platform) one, by schema name (for pages that paginate)."""
    tenants = get_tenant_model()._default_manager
    return tenants.exclude(schema_name=get_public_schema_name()).order_by("schema_name")


def strategies_in_force(tenants: Iterable[Tenant] | None = None) -> list[TenantStrategies]:
    """Return, for every tenant, each registry's strategy in force and whether it was chosen.

    The tenants' selections are read together (``engine.storage.reads.read_many``): one cache
    round trip for the whole list, and one query for the tenants the cache did not answer.
    """
    keyed = _registries()
    chosen = list(all_tenants() if tenants is None else tenants)
    contexts = [Context(tenant=tenant) for tenant in chosen]
    read_many(contexts)
    report = []
    for tenant, context in zip(chosen, contexts, strict=True):
        # One switch to the tenant's schema for all its registries, not one per read.
        with tenancy.tenant_scope(tenant):
            namespace = StrategyNamespace(context, connection_tenant=True)
            stored = namespace.stored()
            states = tuple(_state(registry, namespace, stored) for registry in keyed)
        plan = plan_or_none(tenant)
        report.append(
            TenantStrategies(
                tenant.schema_name,
                tenant_name(tenant),
                plan if isinstance(plan, str) else None,
                states,
            )
        )
    return report


def inactive_selections(tenants: Iterable[Tenant] | None = None) -> list[InactiveSelection]:
    """Return every stored selection (the tenants' and their users') that is not in force.

    ``engine.audit`` judges them: a tenant's selection for the tenant without a user, as
    background jobs and ``engine.resolve(key, tenant=...)`` see it; a user's for that user.
    """
    found: list[InactiveSelection] = []
    for tenant in all_tenants() if tenants is None else tenants:
        found.extend(audit_selections(tenant).inactive)
    return found


def _registries() -> list[type[Registry]]:
    return sorted(registries().values(), key=lambda registry: registry.key)


def _state(
    registry: type[Registry], namespace: StrategyNamespace, stored_selections: StoredSelections
) -> RegistryState:
    stored = stored_selections.tenant_choice(registry.key)
    try:
        resolution = namespace.resolution(registry)
    except NoStrategyAvailable as error:
        return RegistryState(registry.key, None, None, stored, error=str(error))
    skipped = tuple(str(skip) for skip in resolution.skipped)
    return RegistryState(registry.key, resolution.slug, resolution.reason, stored, skipped)
