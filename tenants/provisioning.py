"""Create tenants with their domain: used by the demo seed and the tests."""

from __future__ import annotations

from django.db import transaction

from tenants.models import Domain, Tenant

PUBLIC_SCHEMA = "public"


def ensure_public_tenant(domain: str = "localhost") -> Tenant:
    """Return the public tenant, creating it and its domain when missing."""
    return ensure_tenant(PUBLIC_SCHEMA, name="Platform", plan="enterprise", domain=domain)


def ensure_tenant(schema_name: str, *, name: str, plan: str, domain: str) -> Tenant:
    """Return the tenant ``schema_name``, creating it (schema, migrations, domain) when missing."""
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        tenant = Tenant(schema_name=schema_name, name=name, plan=plan)
        tenant.save()  # creates and migrates the schema; not inside a transaction on purpose
    with transaction.atomic():
        Domain.objects.get_or_create(domain=domain, defaults={"tenant": tenant, "is_primary": True})
    return tenant
