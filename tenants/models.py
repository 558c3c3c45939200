from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    """A customer: one PostgreSQL schema, a display name and the plan it pays for."""

    name = models.CharField(max_length=100)
    plan = models.CharField(max_length=50, default="free")
    created = models.DateTimeField(auto_now_add=True)

    auto_create_schema = True

    class Meta:
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"


class Domain(DomainMixin):
    """A host name that routes requests to a tenant."""

    def __str__(self) -> str:
        return self.domain
