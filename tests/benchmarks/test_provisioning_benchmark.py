"""Provisioning benchmark: one tenant, and fifty in a row; from spares and by cloning.

Target: at most 50 ms per tenant, everything included (checks, schema, tenant and domain rows,
one transaction), with spares ready (``manage.py switchyard_template`` keeps them). Cloning the
template on the spot, and django-tenants' own path (saving a Tenant runs every migration into
the new schema, 150-450 ms here), are measured in the same run for comparison.

Each measurement runs in a savepoint that is rolled back, so the test database keeps only the
demo tenants. The catalog rows those rolled-back schemas leave behind (hundreds per schema,
which committed provisioning never leaves) are vacuumed, untimed, before each round.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection, transaction

from tenants.models import Tenant
from tenants.provisioning import provision_tenant
from tenants.spares import replenish_spares
from tenants.template import ensure_template

TARGET_MS = 50
BATCH = 50
# Rolled back every CHUNK tenants: each one holds ~100 relation locks until its savepoint ends.
CHUNK = 10

_numbers = itertools.count()


class _Rollback(Exception):
    pass


def _rolled_back(work: Callable[[], Any]) -> None:
    """Run ``work`` in a savepoint that is rolled back."""
    try:
        with transaction.atomic():
            work()
            raise _Rollback
    except _Rollback:
        pass


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _vacuum_catalogs() -> None:
    """Vacuum the catalogs from a second connection (VACUUM cannot run in a transaction)."""
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
    }
    params.update({key.lower(): settings[key] for key in ("HOST", "PORT") if settings[key]})
    with psycopg.connect(**params, autocommit=True) as second:
        second.execute(
            "VACUUM (TRUNCATE false) pg_class, pg_attribute, pg_attrdef, pg_constraint, "
            "pg_depend, pg_index, pg_type, pg_sequence, pg_description, pg_trigger, pg_namespace"
        )


def _provision_one() -> Tenant:
    number = next(_numbers)
    return provision_tenant(
        f"bench_{number}", name=f"Bench {number}", plan="pro", domain=f"bench-{number}.localhost"
    )


def _migrate_one() -> None:
    number = next(_numbers)
    Tenant(schema_name=f"bench_m{number}", name=f"Bench {number}", plan="pro").save(verbosity=0)


@pytest.fixture
def template(db: None) -> None:
    with transaction.atomic():
        ensure_template()  # built by the test database set-up; this only checks its stamp
    _rolled_back(_provision_one)  # the clone script is generated once per process


def _one_round(seconds: dict[str, list[float]]) -> None:
    """Time one provisioning from a spare and one by cloning, in one rolled-back savepoint."""

    def work() -> None:
        # A rolled-back savepoint full of DDL empties PostgreSQL's catalog caches, which a
        # committed provisioning does not: provision one untimed tenant first.
        _provision_one()
        replenish_spares(1)
        seconds["spare"].append(_timed(_provision_one))
        seconds["clone"].append(_timed(_provision_one))

    _vacuum_catalogs()
    _rolled_back(work)


def test_provisioning_one_tenant(template: None, benchmark: Any) -> None:
    seconds: dict[str, list[float]] = {"spare": [], "clone": []}
    benchmark.pedantic(
        _one_round, args=(seconds,), rounds=1 if benchmark.disabled else 15, iterations=1
    )
    if benchmark.disabled:
        return
    spare_ms, clone_ms = (min(seconds[path]) * 1000 for path in ("spare", "clone"))
    median = {path: statistics.median(values) * 1000 for path, values in seconds.items()}
    migrations_ms = min(_timed(lambda: _rolled_back(_migrate_one)) for _ in range(3)) * 1000
    print(
        f"\nprovisioning 1 tenant from a spare: {spare_ms:.1f} ms (median {median['spare']:.1f}; "
        f"target <= {TARGET_MS} ms); by cloning the template: {clone_ms:.1f} ms (median "
        f"{median['clone']:.1f}); django-tenants by migrations: {migrations_ms:.0f} ms "
        f"({migrations_ms / spare_ms:.0f}x and {migrations_ms / clone_ms:.0f}x slower)"
    )
    assert spare_ms <= TARGET_MS
    assert migrations_ms / clone_ms >= 4


def test_provisioning_fifty_tenants_in_a_row(template: None, benchmark: Any) -> None:
    count = CHUNK if benchmark.disabled else BATCH
    totals: dict[str, list[float]] = {"spare": [], "clone": []}

    def batch() -> None:
        spent = {"spare": 0.0, "clone": 0.0}

        def chunk(path: str) -> None:
            if path == "spare":
                replenish_spares(CHUNK)  # untimed: made ahead of the signups
            spent[path] += _timed(lambda: [_provision_one() for _ in range(CHUNK)])

        for _ in range(count // CHUNK):
            for path in spent:
                _vacuum_catalogs()
                _rolled_back(lambda path=path: chunk(path))  # type: ignore[misc]
        for path, value in spent.items():
            totals[path].append(value)

    benchmark.pedantic(batch, rounds=1 if benchmark.disabled else 3, iterations=1)
    if benchmark.disabled:
        return
    spare_ms, clone_ms = (min(totals[path]) * 1000 for path in ("spare", "clone"))
    print(
        f"\nprovisioning {count} tenants in a row from spares: {spare_ms:.0f} ms, "
        f"{spare_ms / count:.1f} ms per tenant (target <= {TARGET_MS} ms); by cloning: "
        f"{clone_ms:.0f} ms, {clone_ms / count:.1f} ms per tenant"
    )
    assert spare_ms / count <= TARGET_MS
