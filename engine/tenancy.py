"""Resolving outside a request (Celery tasks, commands): ``engine.resolve(key, tenant=...)``.

With django-tenants installed, the work runs in the tenant's schema (its stored selections,
its users' permissions), and the connection is switched back afterwards. Without it there is
one schema and nothing to switch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.db import connection

from conditions import Context
from engine.registry import Registry, get_registry
from engine.resolution import Resolution


def tenants_installed() -> bool:
    """Return whether django-tenants manages the database connection."""
    return apps.is_installed("django_tenants") and hasattr(connection, "set_tenant")


def current_tenant() -> Any:
    """Return the tenant the connection is set to (None: no tenant, or only a schema name)."""
    if not tenants_installed():
        return None
    from django_tenants.utils import get_tenant_model

    tenant = getattr(connection, "tenant", None)
    return tenant if isinstance(tenant, get_tenant_model()) else None


@contextlib.contextmanager
def tenant_scope(tenant: Any) -> Iterator[None]:
    """Run the block in ``tenant``'s schema (a no-op for None or without django-tenants)."""
    if tenant is None or not tenants_installed():
        yield
        return
    from django_tenants.utils import tenant_context

    with tenant_context(tenant):
        yield


def resolve(
    key: str | type[Registry],
    *,
    tenant: Any = None,
    user: Any = None,
    context: Context | None = None,
) -> Resolution:
    """Return the resolution of registry ``key`` for ``tenant`` and ``user``, outside a request.

    ``tenant`` defaults to the tenant the connection is set to. Pass ``context`` instead to
    resolve several registries against one context (one cache round trip for all of them).
    """
    registry = get_registry(key)
    if context is not None:
        if tenant is not None or user is not None:
            raise TypeError("resolve() takes either context= or tenant=/user=, not both")
    else:
        context = Context(user=user, tenant=tenant if tenant is not None else current_tenant())
    with tenant_scope(context.tenant):
        return registry.resolve(context)
