"""The demo's data, created idempotently by ``manage.py seed_demo`` (``make demo``) and tests.

Every step creates only what is missing: running it again changes nothing, and keeps what
people changed on the demo sites since (their selections, flags and orders).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django_tenants.utils import schema_context, tenant_context

from conditions import Context
from engine import StrategyNamespace, get_registry, sets
from engine.models import Selection, StrategyConfiguration
from example_site.catalogue import get_product
from example_site.models import Order
from example_site.orders import place_order
from tenants.models import PlatformFlag, Tenant
from tenants.provisioning import ensure_public_tenant, ensure_tenant

DEMO_PASSWORD = "switchyard"

# The groups of every demo tenant and the permissions ("app_label.codename") they grant.
DEMO_GROUPS: Mapping[str, tuple[str, ...]] = {
    "Finance": ("example_site.use_invoice", "example_site.export_spreadsheet"),
    "Developers": (),
}


@dataclass(frozen=True)
class DemoTenant:
    schema_name: str
    name: str
    plan: str
    # The groups of the tenant's "member" login (the owner is a superuser: it has every
    # permission but belongs to no group).
    member_groups: tuple[str, ...] = ()
    # Registry key -> slug: the tenant's own choices, stored when it has none for the key.
    selections: Mapping[str, str] = field(default_factory=dict)
    # (registry key, slug) -> values: strategies' configurations, stored (before the
    # selections) when the tenant has none for that strategy. Demo secrets, not real ones.
    configurations: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    # (product slug, quantity) of the orders it starts with.
    orders: tuple[tuple[str, int], ...] = ()

    @property
    def domain(self) -> str:
        return f"{self.schema_name}.localhost"


DEMO_TENANTS = (
    DemoTenant(
        "acme",
        "Acme Corp",
        "free",
        member_groups=("Developers",),
        orders=(("analytics", 1), ("storage", 4)),
    ),
    DemoTenant(
        "globex",
        "Globex",
        "pro",
        member_groups=("Finance",),
        selections={
            "notifications": "email,slack",
            "exports": "xlsx",
            "pricing": "volume",
            "payments": "stripe",
        },
        configurations={
            ("payments", "stripe"): {
                "publishable_key": "pk_test_globex_demo_51H8x",
                "secret_key": "sk_test_globex_demo_4242424242",
                "statement_descriptor": "GLOBEX ADD-ONS",
            }
        },
        orders=(("support", 2), ("analytics", 12)),
    ),
    DemoTenant(
        "initech",
        "Initech",
        "enterprise",
        member_groups=("Developers",),
        selections={"payments": "invoice", "pricing": "per_seat", "notifications": "email,webhook"},
        configurations={
            ("notifications", "webhook"): {
                "url": "https://initech.example.com/hooks/orders",
                "signing_secret": "whsec_initech_demo_0123456789abcdef",
            }
        },
        orders=(("support", 1), ("storage", 10)),
    ),
)

# (username, is the tenant's owner)
DEMO_LOGINS = (("owner", True), ("member", False))


@dataclass(frozen=True)
class DemoFlag:
    """A platform flag of the demo (``tenants.PlatformFlag``) and what it targets."""

    name: str
    note: str
    targeting: Mapping[str, Any]

    def describe(self) -> str:
        if self.targeting.get("tenants"):
            return "on for " + ", ".join(self.targeting["tenants"])
        return f"on for {self.targeting['tenant_percent']} % of tenants (hashed)"


DEMO_FLAGS = (
    DemoFlag(
        "crypto_beta",
        "Crypto payments beta: one tenant tries it first.",
        {"tenants": ["globex"]},
    ),
    DemoFlag(
        "slack_alerts",
        "Slack notifications, rolled out to half of the tenants.",
        {"tenant_percent": 50},
    ),
)


def seed_demo() -> list[Tenant]:
    """Create everything the demo shows when missing; return the demo tenants."""
    tenants = seed_tenants()
    seed_logins()
    seed_flags()
    for demo, tenant in zip(DEMO_TENANTS, tenants, strict=True):
        with tenant_context(tenant):
            _ensure_groups(demo)
            _ensure_configurations(demo, tenant)
            _ensure_selections(demo, tenant)
            _ensure_orders(demo, tenant)
    return tenants


def seed_tenants() -> list[Tenant]:
    """Create the public tenant and the demo tenants when missing; return the demo tenants."""
    ensure_public_tenant()
    return [
        ensure_tenant(demo.schema_name, name=demo.name, plan=demo.plan, domain=demo.domain)
        for demo in DEMO_TENANTS
    ]


def seed_logins() -> None:
    """Create the platform admin and each demo tenant's logins when missing."""
    with schema_context("public"):
        _ensure_user("admin", superuser=True)
    for demo in DEMO_TENANTS:
        with schema_context(demo.schema_name):
            for username, owner in DEMO_LOGINS:
                _ensure_user(username, superuser=owner)


def seed_flags() -> None:
    """Create the demo's platform flags (in the public schema) when missing."""
    with schema_context("public"):
        for flag in DEMO_FLAGS:
            if not PlatformFlag.objects.filter(name=flag.name).exists():
                created = PlatformFlag(name=flag.name, note=flag.note, **flag.targeting)
                created.full_clean()
                created.save()


def _ensure_user(username: str, *, superuser: bool) -> None:
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return
    if superuser:
        User.objects.create_superuser(username, f"{username}@example.com", DEMO_PASSWORD)
    else:
        User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD)


def _ensure_groups(demo: DemoTenant) -> None:
    """The groups and their permissions, and the member's memberships (current schema)."""
    for name, permissions in DEMO_GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for permission in permissions:
            app_label, codename = permission.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    member = get_user_model().objects.get(username="member")
    member.groups.add(*Group.objects.filter(name__in=demo.member_groups))


def _ensure_selections(demo: DemoTenant, tenant: Tenant) -> None:
    """Store the tenant's choices it has none for, made by its owner like on the settings page."""
    owner = get_user_model().objects.get(username="owner")
    context = Context(tenant=tenant, user=owner)
    for key, slug in demo.selections.items():
        if not Selection.objects.filter(registry=key, user=None).exists():
            registry = get_registry(key)
            # A registry holding a set is given its slugs joined by commas, as on the command line.
            value = sets.as_submitted(registry, slug)
            registry.select(value, context, changed_by=owner, via="seed")


def _ensure_configurations(demo: DemoTenant, tenant: Tenant) -> None:
    """Store the strategies' configurations the tenant has none for, as its owner."""
    owner = get_user_model().objects.get(username="owner")
    context = Context(tenant=tenant, user=owner)
    for (key, slug), values in demo.configurations.items():
        if not StrategyConfiguration.objects.filter(registry=key, slug=slug, user=None).exists():
            get_registry(key).configure(slug, values, context, changed_by=owner, via="seed")


def _ensure_orders(demo: DemoTenant, tenant: Tenant) -> None:
    """Place the tenant's first orders as its owner, if it has none (no notifications)."""
    if Order.objects.exists():
        return
    owner = get_user_model().objects.get(username="owner")
    strategies = StrategyNamespace(Context(tenant=tenant, user=owner))
    for product, quantity in demo.orders:
        place_order(strategies, get_product(product), quantity, placed_by=owner, notify=False)
