"""The demo's tenants and logins, created idempotently by ``manage.py seed_demo`` and the tests."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.provisioning import ensure_public_tenant, ensure_tenant

DEMO_PASSWORD = "switchyard"


@dataclass(frozen=True)
class DemoTenant:
    schema_name: str
    name: str
    plan: str

    @property
    def domain(self) -> str:
        return f"{self.schema_name}.localhost"


DEMO_TENANTS = (
    DemoTenant("acme", "Acme Corp", "free"),
    DemoTenant("globex", "Globex", "pro"),
    DemoTenant("initech", "Initech", "enterprise"),
)

# (username, is the tenant's owner)
DEMO_LOGINS = (("owner", True), ("member", False))


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


def _ensure_user(username: str, *, superuser: bool) -> None:
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        return
    if superuser:
        User.objects.create_superuser(username, f"{username}@example.com", DEMO_PASSWORD)
    else:
        User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD)
