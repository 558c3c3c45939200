"""Helpers of the surfaces tests (fields, forms, admin, template tags): users, clients, rows."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory
from django_tenants.utils import tenant_context

from engine.models import Selection, SelectionHistory
from tenants.flags import PlatformFlag
from tenants.models import Tenant


def host(tenant: Tenant) -> str:
    return "localhost" if tenant.schema_name == "public" else f"{tenant.schema_name}.localhost"


def client_for(tenant: Tenant, user: Any = None) -> Client:
    """Return a client on ``tenant``'s host, signed in as ``user`` (a session in its schema)."""
    client = Client(HTTP_HOST=host(tenant))
    if user is not None:
        with tenant_context(tenant):
            client.force_login(user)
    return client


def request_for(tenant: Tenant, user: Any = None, path: str = "/") -> Any:
    """A request as the tenant and auth middleware leave it (no request.strategy)."""
    request = RequestFactory().get(path, HTTP_HOST=host(tenant))
    request.tenant = tenant
    request.user = user if user is not None else AnonymousUser()
    return request


def rows(tenant: Tenant) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every selection and history row of ``tenant``'s schema (to prove nothing changed)."""
    with tenant_context(tenant):
        selections = list(
            Selection.objects.order_by("pk").values_list("registry", "slug", "user_id")
        )
        history = list(
            SelectionHistory.objects.order_by("pk").values_list(
                "registry", "before_slug", "after_slug", "via", "changed_by_id"
            )
        )
    return selections, history


def drones_for(*schemas: str) -> PlatformFlag:
    """Turn the platform flag ``surface_drones`` on for the tenants ``schemas``."""
    return PlatformFlag.objects.create(name="surface_drones", tenants=list(schemas))
