from __future__ import annotations

from typing import Any

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants import cache
from tenants.plans import plans, validate_plan


def default_plan() -> str:
    """Return the smallest configured plan: the plan of a tenant created without one."""
    return plans()[0]


class TenantQuerySet(models.QuerySet["Tenant"]):
    """Tenants; ``update()`` invalidates the cached host routing like ``save()`` does."""

    def update(self, **kwargs: Any) -> int:
        # update() sends no post_save: compute the hosts to forget now, forget them on commit.
        cache.forget_hosts(Domain.objects.filter(tenant__in=self).values_list("domain", flat=True))
        return super().update(**kwargs)


class Tenant(TenantMixin):
    """A customer: one PostgreSQL schema, a display name and the plan it pays for."""

    name = models.CharField(max_length=100)
    plan = models.CharField(
        max_length=50,
        default=default_plan,
        validators=[validate_plan],
        help_text='One of SWITCHYARD["PLANS"] (smallest first: free, pro, enterprise by default).',
    )
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text=(
            "Who provisioned the tenant (a platform login's username). Not a foreign key: "
            "user ids repeat in every tenant's schema."
        ),
    )

    # Saving a new Tenant creates its schema by running migrations (150-450 ms);
    # tenants.provisioning.provision_tenant clones a migrated template instead.
    auto_create_schema = True

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"


class DomainQuerySet(models.QuerySet["Domain"]):
    """Domains; ``update()`` invalidates the cached host routing like ``save()`` does."""

    def update(self, **kwargs: Any) -> int:
        hosts = list(self.values_list("domain", flat=True))
        if "domain" in kwargs:
            hosts.append(kwargs["domain"])
        cache.forget_hosts(hosts)
        return super().update(**kwargs)


class Domain(DomainMixin):
    """A host name that routes requests to a tenant."""

    objects = DomainQuerySet.as_manager()

    def __str__(self) -> str:
        return self.domain


from tenants.flags import PlatformFlag  # noqa: E402  (a model: must be imported by models.py)

__all__ = ["Domain", "PlatformFlag", "Tenant", "default_plan"]
