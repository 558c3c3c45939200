"""Test wiring for django-tenants (see shared/TESTING.md), loaded by tests/conftest.py.

The demo tenants are created once per test database (schema creation costs 150-450 ms each);
every test then runs in the ordinary rolled-back ``db`` transaction, switches tenants
explicitly, and gets the connection back on the public schema and an empty cache afterwards.

A plugin module rather than conftest.py itself: it imports the tenants app, which does not
exist under tests/settings_plain.py (the tests/plain run).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.db import connection

from conditions import cache as switchyard_cache
from engine.storage import generations
from example_site.demo import DEMO_TENANTS, seed_tenants
from tenants.models import Tenant


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        seed_tenants()  # idempotent, so --reuse-db works
        # The process's first poll of the generation table, out of every query count.
        generations.forget()
        generations.refresh()


@pytest.fixture(autouse=True)
def _reset_schema_and_cache() -> Iterator[None]:
    for cache in caches.all():
        cache.clear()
    switchyard_cache.reset()
    yield
    connection.set_schema_to_public()
    for cache in caches.all():
        cache.clear()


def _tenant(schema_name: str) -> Tenant:
    return Tenant.objects.get(schema_name=schema_name)


@pytest.fixture
def public_tenant(db: None) -> Tenant:
    return _tenant("public")


@pytest.fixture
def free_tenant(db: None) -> Tenant:
    """acme, on the free plan."""
    return _tenant(DEMO_TENANTS[0].schema_name)


@pytest.fixture
def pro_tenant(db: None) -> Tenant:
    """globex, on the pro plan."""
    return _tenant(DEMO_TENANTS[1].schema_name)


@pytest.fixture
def enterprise_tenant(db: None) -> Tenant:
    """initech, on the enterprise plan."""
    return _tenant(DEMO_TENANTS[2].schema_name)
