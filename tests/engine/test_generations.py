"""engine.storage.generations: a change the cache missed is served within STALENESS_BOUND.

The failures are real: the writer's cache alias points at a port nothing listens on (a writer
partitioned from the cache), and an old cache entry is put back as a cache restored from an
old snapshot would hold it. The readers' cache is the test cache, reachable throughout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

from conditions import Context
from conditions import cache as switchyard_cache
from engine.storage import cache, generations
from engine.storage.reads import stored_selections
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.transactions import committed, settled

BOUND = 0.5  # seconds; the default is 10
SCOPE = generations.scope_of("acme")
UNREACHABLE = {
    **settings.CACHES,
    "switchyard": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
}


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with (
        override_settings(SWITCHYARD={**settings.SWITCHYARD, "STALENESS_BOUND": BOUND}),
        tenant_context(free_tenant),
    ):
        generations.forget()
        generations.refresh()
        yield free_tenant
    generations.forget()
    generations.refresh()  # back to the suite's bound, out of later query counts


def read(tenant: Tenant) -> str | None:
    return stored_selections(Context(tenant=tenant)).tenant_choice("payments")


def partitioned_write(slug: str) -> None:
    """Commit ``slug`` from a process that cannot reach the cache (its invalidation is lost)."""
    with override_settings(CACHES=UNREACHABLE), committed():
        write_selection("payments", slug, via="api")
    switchyard_cache.reset()  # the readers' cache was fine all along


def test_a_write_bumps_the_schemas_generation_in_its_transaction(acme: Tenant) -> None:
    before = _committed_generation()
    write_selection("payments", "card", via="api")
    assert _committed_generation() == before + 1
    write_selection("payments", "card", via="api")  # the same slug: nothing changed
    assert _committed_generation() == before + 1


def test_a_lost_invalidation_is_served_within_the_bound(acme: Tenant) -> None:
    with settled():
        write_selection("payments", "card", via="api")
    assert read(acme) == "card"  # cached
    partitioned_write("invoice")
    assert read(acme) == "card"  # the old entry: nothing told this process yet
    time.sleep(BOUND * 1.2)
    assert read(acme) == "invoice"
    assert cache.key_for("acme") in switchyard_cache.get_many([cache.key_for("acme")])
    assert read(acme) == "invoice"  # and the cache holds the new value again


def test_a_cache_restored_from_an_old_snapshot_is_served_within_the_bound(acme: Tenant) -> None:
    with settled():
        write_selection("payments", "card", via="api")
    read(acme)
    old = switchyard_cache.cache().get(cache.key_for("acme"))
    with settled():
        write_selection("payments", "invoice", via="api")
    assert read(acme) == "invoice"
    switchyard_cache.cache().set(cache.key_for("acme"), old)  # the snapshot comes back
    time.sleep(BOUND * 1.2)
    assert read(acme) == "invoice"


def test_a_generation_from_a_rolled_back_transaction_heals_after_one_read(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    with settled():
        write_selection("payments", "card", via="api")
    read(acme)
    generations.learned(SCOPE, 10**9)  # as if a poll had seen a bump that was rolled back
    with django_assert_num_queries(1):
        assert read(acme) == "card"  # stale by that number: the database answers
    with django_assert_num_queries(0):
        assert read(acme) == "card"  # corrected: the cache answers again


def test_polling_costs_one_query_per_bound_and_process(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    with settled():
        write_selection("payments", "card", via="api")
    read(acme)
    with django_assert_num_queries(0):
        for _ in range(20):
            read(acme)
    time.sleep(BOUND * 1.2)
    # The poll (in a savepoint, as the test runs in a transaction), then the cache.
    with django_assert_num_queries(3):
        for _ in range(20):
            read(acme)


def test_a_failed_poll_is_logged_and_leaves_the_transaction_usable(
    acme: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    with settled():
        write_selection("payments", "card", via="api")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE public.engine_generation RENAME TO engine_generation_away")
    try:
        generations.refresh()  # fails in a savepoint: the transaction stays usable
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE public.engine_generation_away RENAME TO engine_generation")
    assert "could not poll the generation table" in caplog.text
    assert read(acme) == "card"


def _committed_generation() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {generations.subquery()}", [SCOPE])
        return int(cursor.fetchone()[0])
