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
    """``TenantMainMiddleware`` whose host -> tenant lookup is served from Switchyard's cache.

    A warm request costs no query at all: the tenant comes from Switchyard's cache alias in one
    round trip, saving or deleting a tenant or domain forgets its hosts after commit, and a
    host that routes nowhere is remembered for ``SWITCHYARD["TENANT_MISS_TIMEOUT"]`` seconds
    (it is still a 404, via the inherited ``no_tenant_found``). A cache that fails is a miss:
    the database answers (one query) and the request goes on. An entry whose invalidation was
    lost is served for at most ``SWITCHYARD["STALENESS_BOUND"]`` seconds (see
    ``tenants.cache``).
    """

    def get_tenant(self, domain_model: Any, hostname: str) -> Any:
        found, fingerprint = cache.lookup(hostname)
        if found == cache.MISSING:
            raise domain_model.DoesNotExist(f"No tenant for hostname {hostname!r} (cached)")
        if found is not None:
            return found
        try:
            tenant = super().get_tenant(domain_model, hostname)
        except domain_model.DoesNotExist:
            if fingerprint is not None:
                cache.remember_missing(hostname, fingerprint)
            raise
        if fingerprint is not None:
            cache.remember_tenant(hostname, tenant, fingerprint)
        return tenant
