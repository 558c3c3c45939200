"""Fixtures of the own-tenant-model run (tests/settings_owntenant.py): ``customers.Client``.

Three clients are provisioned once per test database (the public one, acme on tier free,
hooli on tier enterprise) through Switchyard's own provisioning; every test then runs in the
ordinary rolled-back ``db`` transaction with empty caches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection

from conditions import cache as switchyard_cache
from conditions import snapshot

if settings.TENANT_MODEL != "customers.Client":
    raise pytest.UsageError(
        "tests/owntenant runs with its own tenant model: "
        "pytest tests/owntenant --ds=tests.settings_owntenant (make test runs it)"
    )

from tenants.provisioning import ensure_public_tenant, ensure_tenant
from tests.owntenant.customers.models import Client

CLIENTS = {"acme": "free", "hooli": "enterprise"}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    with django_db_blocker.unblock():
        ensure_public_tenant("localhost", title="Platform")
        for schema_name, tier in CLIENTS.items():
            ensure_tenant(
                schema_name,
                domain=f"{schema_name}.localhost",
                plan=tier,
                title=schema_name.title(),
            )


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    for cache in caches.all():
        cache.clear()
    switchyard_cache.reset()
    snapshot.forget()
    yield
    connection.set_schema_to_public()
    for cache in caches.all():
        cache.clear()
    snapshot.forget()


@pytest.fixture
def acme(db: None) -> Client:
    """A client on tier free."""
    return Client.objects.get(schema_name="acme")


@pytest.fixture
def hooli(db: None) -> Client:
    """A client on tier enterprise."""
    return Client.objects.get(schema_name="hooli")
