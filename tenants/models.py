from __future__ import annotations

from typing import Any

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import get_tenant_domain_model

from tenants import cache
from tenants.plans import plans, validate_plan


def default_plan() -> str:
    """Return the smallest configured plan: the plan of a tenant created without one."""
    return plans()[0]


class TenantQuerySet(models.QuerySet[Any]):
    """Tenants; ``update()`` invalidates the cached host routing like ``save()`` does.

    Any django-tenants tenant model may use it: ``objects = TenantQuerySet.as_manager()``.
    """

    def update(self, **kwargs: Any) -> int:
        # update() sends no post_save: compute the hosts to forget now, forget them on commit.
        domains = get_tenant_domain_model()._default_manager.filter(tenant__in=self)
        cache.forget_hosts(domains.values_list("domain", flat=True))
        return super().update(**kwargs)


class Tenant(TenantMixin):
    """A customer: one PostgreSQL schema, a display name and the plan it pays for.

    The ready-made tenant model for new projects (``TENANT_MODEL =
    "switchyard_tenants.Tenant"``). Swappable: a project whose ``TENANT_MODEL`` names its own
    model gets no table for this one (docs: "Using your own tenant model").
    """

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
        swappable = "TENANT_MODEL"

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"


class DomainQuerySet(models.QuerySet[Any]):
    """Domains; ``update()`` invalidates the cached host routing like ``save()`` does.

    Any django-tenants domain model may use it: ``objects = DomainQuerySet.as_manager()``.
    """

    def update(self, **kwargs: Any) -> int:
        hosts = list(self.values_list("domain", flat=True))
        if "domain" in kwargs:
            hosts.append(kwargs["domain"])
        cache.forget_hosts(hosts)
        return super().update(**kwargs)


class Domain(DomainMixin):
    """A host name that routes requests to a tenant (swappable, like ``Tenant``)."""

    objects = DomainQuerySet.as_manager()

    class Meta:
        swappable = "TENANT_DOMAIN_MODEL"

    def __str__(self) -> str:
        return self.domain


from tenants.flags import PlatformFlag  # noqa: E402  (a model: must be imported by models.py)

__all__ = [
    "Domain",
    "DomainQuerySet",
    "PlatformFlag",
    "Tenant",
    "TenantQuerySet",
    "default_plan",
]
