"""example_site.status: the async JSON status page, through AsyncClient."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.test import AsyncClient
from django_tenants.utils import tenant_context

from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.asgi_client import asgi_get
from tests.transactions import committed


def status(tenant: Tenant, user: Any = None) -> Any:
    client = AsyncClient()
    if user is not None:
        with tenant_context(tenant):
            client.force_login(user)
    return asgi_get(client, f"{tenant.schema_name}.localhost", "/status.json")


def test_members_see_every_registry_in_force(enterprise_tenant: Tenant) -> None:
    with committed():
        write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
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
