"""The platform page at 1,000 tenants on Redis, against the admin's list of the same tenants.

``TENANTS`` tenants, plans in turn free, pro and enterprise, each with a schema of its own
holding the tables the page reads there (``engine_selection`` and
``engine_strategyconfiguration``, created ``LIKE`` the public schema's, indexes and constraints
included): a third with a selection of their own (some not in force for their plan), some with
a user's selection beside it, which the page must not show. The schemas are committed from a
second connection, twenty a transaction, before the test's transaction begins, and dropped
after it ends: about 20 s for 1,000, where full clones of the tenant template (some 130
relations each) took over 3 minutes to create and one more to drop, and one transaction
holding them all would exhaust PostgreSQL's lock table. Platform flags by plan, tenant,
percentage and kind of user; the example site's registries; Switchyard's cache on a private
``redis-server``; a logged-in staff superuser of the public site, through Django's test client.

Measured, interleaved: ``/platform/`` warm, HTML and ``?format=json``, walking through its
pages of ``TENANTS_PER_PAGE`` tenants, and the **baseline**: the Django admin's changelist of
the same tenants (``/admin/switchyard_tenants/tenant/``, 100 a page, the same user): the page
a Django team would otherwise open to look at its tenants, so the ratio says what the platform
page costs over what Django itself costs to list the same page of tenants. Cold (Switchyard's
cache emptied first): the same pages, timed apart.

Asserted: a cold page costs at most ``COLD_QUERIES`` queries and a warm one exactly
``WARM_QUERIES`` (``SET search_path`` left out); a warm page sends Redis one ``MGET`` for all
its tenants (and one for the host's routing); every tenant's row shows what it stored; the warm
medians at most ``RATIO_BOUND`` times the baseline's (``TARGET_MS`` is printed: this machine's
load moves absolute times by half); what the worker keeps after showing every page cold and
warm, per tenant touched, at most ``TARGET_BYTES``.

With ``--benchmark-disable`` (``make test``) it runs once on ``QUICK_TENANTS`` tenants, pages
of ten, unmeasured: the queries, the one ``MGET`` and every tenant's row are checked, the
timings and the memory are not.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import get_public_schema_name, schema_context

from conditions import cache as switchyard_cache
from tenants import views
from tenants.flags import PlatformFlag
from tenants.models import Tenant
from tenants.reports import tenants_queryset
from tenants.template import quote
from tests.redis_server import RedisServer, redis_server, shared_cache  # noqa: F401

TENANTS = 1_000
QUICK_TENANTS = 30
QUICK_PER_PAGE = 10
ROUNDS = 30
COLD_ROUNDS = 5
PREFIX = "bench_platform_"
# Schemas created (and dropped) per transaction: each locks about 16 relations until the
# commit, and the lock table is shared by every connection of the server (CI's embedded one
# too): a few hundred locks at a time.
CHUNK = 20
# What the page reads in a tenant's schema.
TABLES = ("engine_selection", "engine_strategyconfiguration")
# The user whose selections sit beside some tenants' own (never shown on the page).
USER = 1
PLANS = ("free", "pro", "enterprise")
COLD_QUERIES = 10
WARM_QUERIES = 6
# The target for a warm page. Printed, not asserted: on the shared two-core machine
# the same code measured 45 ms and 70 ms an hour apart; the ratio to the baseline held (0.31x).
TARGET_MS = 50.0
# Asserted instead: a warm page costs at most this share of the admin's changelist (0.73x as
# HTML before the page's cells were written in Python, 0.31x after).
RATIO_BOUND = 0.5
TARGET_BYTES = 2 * 1024
ADMIN = "/admin/switchyard_tenants/tenant/"


@dataclass(frozen=True)
class Stored:
    """What one benchmark tenant stored: its own choices, and one user's (never on the page)."""

    tenant: dict[str, str]
    user: dict[str, str]


def stored_for(number: int) -> Stored:
    """The selections tenant ``number`` stores: a mix of choices, in force or not."""
    tenant: dict[str, str] = {}
    if number % 3 == 0:
        # invoice is in force for enterprise tenants only; stripe lacks its configuration.
        tenant["payments"] = ("invoice", "card", "stripe")[number // 3 % 3]
    if number % 5 == 0:
        tenant["pricing"] = "volume"  # pro and enterprise only
    if number % 7 == 0:
        tenant["notifications"] = "sms,email"
    user = {"payments": "invoice", "exports": "json"} if number % 4 == 0 else {}
    return Stored(tenant, user)


def _second_connection() -> psycopg.Connection[Any]:
    """A connection of its own to the test database: what it commits outlives the test's
    rolled-back transaction, which sees it all the same."""
    settings = connection.settings_dict
    params = {"dbname": settings["NAME"], "user": settings["USER"]}
    params.update(
        {key.lower(): settings[key] for key in ("PASSWORD", "HOST", "PORT") if settings[key]}
    )
    return psycopg.connect(**params, autocommit=True)


def _drop_schemas(second: psycopg.Connection[Any]) -> None:
    names = [
        row[0]
        for row in second.execute(
            "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, %s)", [PREFIX]
        )
    ]
    for start in range(0, len(names), CHUNK):
        with second.transaction():
            for name in names[start : start + CHUNK]:
                second.execute(f"DROP SCHEMA {quote(name)} CASCADE")


def _schema_sql(schema: str, stored: Stored) -> str:
    """Create ``schema`` with the tables the page reads, as migrations made them, and fill it."""
    public = quote(get_public_schema_name())
    statements = [f"CREATE SCHEMA {quote(schema)}"]
    statements.extend(
        f"CREATE TABLE {quote(schema)}.{table} (LIKE {public}.{table} INCLUDING ALL)"
        for table in TABLES
    )
    rows = [(key, slug, None) for key, slug in stored.tenant.items()]
    rows.extend((key, slug, USER) for key, slug in stored.user.items())
    statements.extend(
        f"INSERT INTO {quote(schema)}.engine_selection (registry, slug, user_id, changed_at) "
        f"VALUES ('{key}', '{slug}', {'NULL' if user is None else user}, now())"
        for key, slug, user in rows
    )
    return ";\n".join(statements)


@pytest.fixture
def schemas(django_db_setup: None, benchmark: Any) -> Iterator[list[str]]:
    """The benchmark's tenants' schemas, committed from a second connection before the test's
    transaction begins, and dropped after it has ended (its locks on them would block the drop).
    """
    count = QUICK_TENANTS if benchmark.disabled else TENANTS
    names = [f"{PREFIX}{n:04}" for n in range(count)]
    with _second_connection() as second:
        second.execute("SET lock_timeout = '60s'")  # never wait for ever on a lock
        _drop_schemas(second)  # left by an interrupted run
        try:
            for start in range(0, count, CHUNK):
                chunk = names[start : start + CHUNK]
                with second.transaction():
                    sql = ";\n".join(
                        _schema_sql(name, stored_for(number))
                        for number, name in enumerate(chunk, start)
                    )
                    second.execute(sql)  # type: ignore[arg-type]
            yield names
        finally:
            _drop_schemas(second)


@pytest.fixture
def tenants(schemas: list[str], db: None) -> list[Tenant]:
    """The benchmark's tenants, plans in turn (rows in the test's rolled-back transaction)."""
    connection.set_schema_to_public()
    return Tenant.objects.bulk_create(
        Tenant(schema_name=name, name=f"Tenant {n}", plan=PLANS[n % len(PLANS)])
        for n, name in enumerate(schemas)
    )


@pytest.fixture
def flags(db: None) -> None:
    """Platform flags as a platform has them: two the example site's strategies read, and
    some by tenant, plan, percentage of tenants or kind of user."""
    PlatformFlag.objects.create(name="crypto_beta", plans=["enterprise"], note="pilot")
    PlatformFlag.objects.create(name="slack_alerts", tenant_percent=50)
    PlatformFlag.objects.create(name="new_checkout", tenants=[f"{PREFIX}0001", f"{PREFIX}0002"])
    PlatformFlag.objects.create(name="staff_preview", staff=True)


@pytest.fixture
def staff(db: None) -> Client:
    with schema_context("public"):
        user = get_user_model().objects.create_user("operator", is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


@dataclass
class Pages:
    """The platform page and its baseline, through one logged-in client."""

    client: Client
    count: int  # pages of tenants

    def platform(self, page: int, fmt: str = "") -> Any:
        response = self.client.get("/platform/", {"page": page, **({"format": fmt} if fmt else {})})
        assert response.status_code == 200
        return response

    def admin(self, page: int) -> Any:
        response = self.client.get(ADMIN, {"p": page})
        assert response.status_code == 200
        return response

    def every_page(self, fmt: str = "") -> list[Any]:
        return [self.platform(page, fmt) for page in range(1, self.count + 1)]


def _emptied_cache() -> None:
    """Switchyard's cache as after a restart of Redis: no selections, no flag stamp."""
    switchyard_cache.cache().clear()


def _queries(call: Callable[[], Any]) -> list[str]:
    """Return the statements ``call`` sends, but the ``SET search_path`` ones."""
    with CaptureQueriesContext(connection) as captured:
        call()
    sql = [query["sql"] for query in captured.captured_queries]
    return [text for text in sql if not text.startswith("SET ")]


def _seconds(call: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    call(*args)
    return time.perf_counter() - started


def test_the_platform_page_at_a_thousand_tenants(
    schemas: list[str],
    shared_cache: RedisServer,  # noqa: F811
    tenants: list[Tenant],
    flags: None,
    staff: Client,
    benchmark: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if benchmark.disabled:
        monkeypatch.setattr(views, "TENANTS_PER_PAGE", QUICK_PER_PAGE)
    # The demo tenants are listed too: a page count of every tenant but the public one.
    pages = Pages(staff, -(-tenants_queryset().count() // views.TENANTS_PER_PAGE))
    middle = pages.count // 2 + 1
    for page in range(1, pages.count + 1):  # templates, the flag snapshot, the admin's modules
        pages.platform(page)
        pages.admin(page)

    _check_every_tenant_shows_its_own_choices(pages, tenants)

    _emptied_cache()
    cold = _queries(lambda: pages.platform(middle))
    assert len(cold) <= COLD_QUERIES, cold
    warm = _queries(lambda: pages.platform(middle))
    assert len(warm) == WARM_QUERIES, warm
    assert len(_queries(lambda: pages.platform(middle, "json"))) == WARM_QUERIES
    redis = shared_cache.client()
    redis.config_resetstat()
    pages.platform(middle)
    sent = {k: v["calls"] for k, v in redis.info("commandstats").items()}
    # One MGET for the host's routing, one for every tenant of the page and the flag stamp.
    assert sent == {"cmdstat_mget": 2, "cmdstat_config|resetstat": 1}, sent

    per_tenant = _bytes_kept_per_tenant(pages, len(tenants))
    rounds = 1 if benchmark.disabled else ROUNDS
    timed: dict[str, list[float]] = {"html": [], "json": [], "admin": [], "cold html": []}
    for round_ in range(rounds):
        page = round_ % pages.count + 1
        timed["html"].append(_seconds(pages.platform, page))
        timed["json"].append(_seconds(pages.platform, page, "json"))
        timed["admin"].append(_seconds(pages.admin, page))
        if round_ < COLD_ROUNDS:
            _emptied_cache()
            timed["cold html"].append(_seconds(pages.platform, page))
    benchmark.pedantic(lambda: pages.platform(middle), rounds=1)
    if benchmark.disabled:
        # Over the quick run's 30 tenants a per-tenant figure is mostly the process's one-off
        # growth (2.1 KiB once in CI, 0.1 KiB at 1,000 tenants): asserted when measured only.
        return
    assert per_tenant <= TARGET_BYTES
    ms = {name: statistics.median(values) * 1000 for name, values in timed.items()}
    baseline = ms["admin"]
    print(
        f"\nplatform page, {len(tenants)} tenants, {views.TENANTS_PER_PAGE} a page, medians of "
        f"{rounds} interleaved rounds (baseline: the admin's changelist of the same tenants, "
        f"{baseline:.1f} ms):"
    )
    for name in ("html", "json", "cold html"):
        print(f"platform page: {name} {ms[name]:.1f} ms, {ms[name] / baseline:.2f}x the admin's")
    met = "met" if max(ms["html"], ms["json"]) <= TARGET_MS else "NOT met"
    print(
        f"platform page: warm target <= {TARGET_MS:.0f} ms {met} in this run; cold {len(cold)} "
        f"queries, warm {len(warm)}; {per_tenant:.0f} bytes kept per tenant touched "
        f"(target <= 2 KiB)"
    )
    assert ms["html"] / baseline <= RATIO_BOUND
    assert ms["json"] / baseline <= RATIO_BOUND


def _check_every_tenant_shows_its_own_choices(pages: Pages, tenants: list[Tenant]) -> None:
    """Every tenant's row shows what it stored (in force or not), and none its user's."""
    shown: dict[str, dict[str, Any]] = {}
    for response in pages.every_page("json"):
        for row in response.json()["tenants"]:
            stored = {state["registry"]: state["stored"] for state in row["registries"]}
            shown[row["tenant"]] = {key: slug for key, slug in stored.items() if slug}
    for number, tenant in enumerate(tenants):
        assert shown[tenant.schema_name] == stored_for(number).tenant, tenant.schema_name


def _bytes_kept_per_tenant(pages: Pages, count: int) -> float:
    """Return what the process still holds, per tenant, after showing every page cold and warm."""
    pages.every_page()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        _emptied_cache()
        pages.every_page()  # cold: every tenant's selections from the database
        pages.every_page()  # warm
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return sum(stat.size_diff for stat in after.compare_to(before, "filename")) / count
