"""``CachedTenantMiddleware``: django-tenants' routing without a query per request."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_tenants.middleware.main import TenantMainMiddleware

from engine import tenancy
from tenants import cache


def on_public_site(request: HttpRequest) -> bool:
    """Return whether ``request`` is served by the public (platform) schema."""
    return tenancy.on_public_schema(getattr(request, "tenant", None))


class CachedTenantMiddleware(TenantMainMiddleware):
    """``TenantMainMiddleware`` whose host -> tenant lookup is served from the global cache.

    A warm request costs no query at all: the tenant comes from Switchyard's cache alias,
    saving or deleting a tenant or domain forgets its hosts after commit, and a host that
    routes nowhere is remembered for ``SWITCHYARD["TENANT_MISS_TIMEOUT"]`` seconds (it is
    still a 404, via the inherited ``no_tenant_found``).
    """

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        tenant = cache.cached_tenant(hostname)
        if tenant == cache.MISSING:
            raise domain_model.DoesNotExist(f"No tenant for hostname {hostname!r} (cached)")
        if tenant is not None:
            return tenant
        try:
            tenant = super().get_tenant(domain_model, hostname)
        except domain_model.DoesNotExist:
            cache.remember_missing(hostname)
            raise
        cache.remember_tenant(hostname, tenant)
        return tenant
