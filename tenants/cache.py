"""Host -> tenant routing entries in Switchyard's global cache, and their invalidation.

The entries live in the alias ``SWITCHYARD["CACHE"]`` (plain keys, no schema prefix): a host
names one tenant whatever schema the connection is on. A saved or deleted tenant or domain
forgets its hosts after commit, with the keys computed when the write happens; unknown hosts
are remembered briefly (``TENANT_MISS_TIMEOUT``) so a flood of bad hosts does not reach the
database on every request.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache as memoise
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.db import transaction
from django_tenants.utils import get_tenant_database_alias

from engine.conf import settings

if TYPE_CHECKING:
    from tenants.models import Tenant

# Stored for a host that routes to no tenant.
MISSING = "switchyard:no-tenant"


@memoise
def _key_prefix() -> str:
    try:
        package_version = version("django-switchyard")
    except PackageNotFoundError:  # running from a source tree that was never installed
        package_version = "dev"
    return f"switchyard:{package_version}:tenant-host:"


def switchyard_cache() -> BaseCache:
    """Return the cache alias named by ``SWITCHYARD["CACHE"]``."""
    return caches[settings.CACHE]


def host_key(hostname: str) -> str:
    """Return the cache key of ``hostname``'s routing entry (the same under every schema)."""
    # Host names are case-insensitive in DNS but matched exactly by django-tenants; hash long
    # ones so the key fits memcached's 250-character limit.
    if len(hostname) > 150:
        hostname = hashlib.sha256(hostname.encode()).hexdigest()
    return _key_prefix() + hostname


def cached_tenant(hostname: str) -> Tenant | str | None:
    """Return the cached tenant of ``hostname``, ``MISSING`` for a known-unknown host, or None."""
    entry = switchyard_cache().get(host_key(hostname))
    if entry is None or entry == MISSING:
        return entry
    from tenants.models import Tenant

    field_names, values = entry
    # from_db marks a field added since the entry was written as deferred (loaded on access).
    return Tenant.from_db(get_tenant_database_alias(), field_names, values)


def remember_tenant(hostname: str, tenant: Tenant) -> None:
    """Cache ``tenant`` (its field values, not a pickled instance) as ``hostname``'s tenant."""
    fields = [field.attname for field in tenant._meta.concrete_fields]
    entry = (fields, [getattr(tenant, name) for name in fields])
    switchyard_cache().set(host_key(hostname), entry, settings.TENANT_CACHE_TIMEOUT)


def remember_missing(hostname: str) -> None:
    """Cache that ``hostname`` routes to no tenant, for ``TENANT_MISS_TIMEOUT`` seconds."""
    switchyard_cache().set(host_key(hostname), MISSING, settings.TENANT_MISS_TIMEOUT)


def forget_hosts(hostnames: Iterable[str]) -> None:
    """Forget the entries of ``hostnames`` once the current transaction commits.

    The keys are computed now: the transaction may switch schema or change the rows before
    it commits, and what must be forgotten is what was written.
    """
    keys = sorted({host_key(hostname) for hostname in hostnames})
    if keys:
        transaction.on_commit(lambda: switchyard_cache().delete_many(keys))


def tenant_saved(sender: Any, instance: Tenant, created: bool = False, **kwargs: Any) -> None:
    """Forget every host of a tenant that was saved or deleted (its plan may have changed)."""
    from tenants.models import Domain

    if created:
        return  # a new tenant has no domain yet

    forget_hosts(Domain.objects.filter(tenant_id=instance.pk).values_list("domain", flat=True))


def domain_will_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Forget the host a domain had before this save (it may be renamed)."""
    if instance.pk is not None and not raw:
        previous = type(instance).objects.filter(pk=instance.pk).values_list("domain", flat=True)
        forget_hosts(previous)


def domain_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    """Forget the host of a domain that was saved or deleted (also a cached "unknown")."""
    forget_hosts([instance.domain])
