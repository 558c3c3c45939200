"""example_site.status: the async JSON status page, through AsyncClient."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import AsyncClient
from django_tenants.utils import tenant_context

from tenants.models import Tenant


def status(tenant: Tenant, user: Any = None) -> Any:
    client = AsyncClient(HTTP_HOST=f"{tenant.schema_name}.localhost")
    if user is not None:
        with tenant_context(tenant):
            async_to_sync(client.force_login)(user)
    return async_to_sync(client.get)("/status.json")


def test_members_see_every_registry_in_force(enterprise_tenant: Tenant) -> None:
    with tenant_context(enterprise_tenant):
        user = get_user_model().objects.create_user("reader")
    response = status(enterprise_tenant, user)
    assert response.status_code == 200
    body = response.json()
    assert body["tenant"] == "initech"
    assert body["plan"] == "enterprise"
    assert body["in_force"]["payments"] == {"slug": "invoice", "reason": "tenant_selection"}
    assert set(body["in_force"]) >= {"payments", "notifications", "exports", "pricing"}


def test_anonymous_visitors_get_403_and_nothing_of_the_tenant(enterprise_tenant: Tenant) -> None:
    response = status(enterprise_tenant)
    assert response.status_code == 403
    assert "in_force" not in response.json()
