"""Helpers for the demo's tests: clients of a tenant's site, contexts, orders, page fragments."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import tenant_context

from conditions import Context
from engine import StrategyNamespace
from example_site.models import Order
from tenants.models import Tenant


def user(tenant: Tenant, username: str) -> Any:
    """Return the user ``username`` of ``tenant``'s schema."""
    with tenant_context(tenant):
        return get_user_model().objects.get(username=username)


def site(tenant: Tenant, username: str | None = None) -> Client:
    """A client of ``tenant``'s site, logged in as ``username`` (None: anonymous)."""
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    if username is not None:
        with tenant_context(tenant):  # the session lives in the tenant's schema
            client.force_login(get_user_model().objects.get(username=username))
    return client


def context(tenant: Tenant, username: str | None = None) -> Context:
    """A context of ``tenant`` and one of its users, as a request of theirs would build it."""
    return Context(tenant=tenant, user=user(tenant, username) if username else None)


def namespace(tenant: Tenant, username: str | None = None) -> StrategyNamespace:
    """``request.strategy`` for ``tenant`` and ``username``, outside a request."""
    return StrategyNamespace(context(tenant, username))


def make_order(tenant: Tenant, total_cents: int = 1250, **fields: Any) -> Order:
    """Save an order in ``tenant``'s schema (a bare one, as the gateways receive it)."""
    values: dict[str, Any] = {
        "product": "analytics",
        "product_name": "Analytics add-on",
        "quantity": 1,
        "total_cents": total_cents,
        "pricing": "flat",
        **fields,
    }
    with tenant_context(tenant):
        return Order.objects.create(**values)


def fragment(html: str, element_id: str) -> str:
    """Return the element with ``id`` of a page, from its start tag to its matching end tag."""
    start = re.search(rf'<(\w+)\b[^>]*\bid="{re.escape(element_id)}"', html)
    assert start is not None, f"no element with id {element_id!r} on the page"
    tag = start.group(1)
    depth = 0
    for match in re.finditer(rf"<(/?){tag}\b", html[start.start() :]):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[start.start() : start.start() + match.end()]
    raise AssertionError(f"the <{tag} id={element_id!r}> element is never closed")
