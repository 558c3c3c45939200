"""A team's own django-tenants models: no ``name``, no ``plan``, no ``created_by``."""

from __future__ import annotations

from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.models import DomainQuerySet, TenantQuerySet


class Client(TenantMixin):
    """A customer of the team's product; its plan is its ``tier`` (SWITCHYARD["TENANT_PLAN"])."""

    title = models.CharField(max_length=80)
    tier = models.CharField(max_length=20, default="free")
    vip = models.BooleanField(default=False)

    # Routing entries are forgotten on queryset update() too (optional, see the docs).
    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return self.title


class Domain(DomainMixin):
    """A host name of a client."""

    objects = DomainQuerySet.as_manager()
