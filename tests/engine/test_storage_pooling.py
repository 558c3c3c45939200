"""engine.storage behind a transaction-pooling PgBouncer, even on the stock django-tenants backend.

Switchyard's own reads name the schema's table and its writes pin ``search_path`` with
``SET LOCAL`` inside their transaction, so they need no safe backend: this runs them on
django-tenants' stock backend, through a PgBouncer with one server connection that another
stock client keeps switching to globex's schema. An unqualified ORM read on the same connection
shows the trap is real (it reads globex); Switchyard's reads and writes stay in acme, and the
cache only ever receives acme's rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Max
from django.db.utils import load_backend
from django.test import override_settings
from django_tenants.utils import schema_context

from conditions import Context
from conditions import cache as switchyard_cache
from engine import secrets
from engine.models import ConfigurationHistory, Selection, SelectionHistory, StrategyConfiguration
from engine.storage import cache, generations
from engine.storage.reads import stored_selections
from engine.storage.writes import write_selection
from example_site.registries.payments import PaymentGateways
from tenants.models import Tenant
from tests.servers import PgBouncer, running_pgbouncer

STOCK = "django_tenants.postgresql_backend"
POOLED = "pooled_storage"

pytestmark = pytest.mark.django_db


class ToPooled:
    """Routes every query to the pooled connection under test."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return POOLED

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return POOLED


@pytest.fixture(scope="module")
def test_database(django_db_setup: None) -> dict[str, Any]:
    return dict(connection.settings_dict)


@pytest.fixture(scope="module")
def one_server(test_database: dict[str, Any]) -> Iterator[PgBouncer]:
    with running_pgbouncer(test_database, pool_mode="transaction", pool_size=1) as bouncer:
        yield bouncer


@pytest.fixture(scope="module")
def stored(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Committed choices that differ: acme stores card, globex stores crypto.

    Everything this module commits (selections, their history) is removed afterwards: the
    other tests' transactions would see it.
    """
    with django_db_blocker.unblock():
        last_history = {}
        for schema, slug in (("acme", "card"), ("globex", "crypto")):
            with schema_context(schema):
                last_history[schema] = SelectionHistory.objects.aggregate(Max("id"))["id__max"]
                Selection.objects.create(registry="payments", slug=slug)
        try:
            yield
        finally:
            for schema, last in last_history.items():
                with schema_context(schema):
                    Selection.objects.filter(registry="payments").delete()
                    SelectionHistory.objects.filter(id__gt=last or 0).delete()
            connection.set_schema_to_public()


def stock_wrapper(bouncer: PgBouncer, database: dict[str, Any], alias: str) -> Any:
    config = bouncer.django_settings(
        database, ENGINE=STOCK, CONN_MAX_AGE=None, DISABLE_SERVER_SIDE_CURSORS=True
    )
    return load_backend(STOCK).DatabaseWrapper(config, alias)


@contextmanager
def pooled(bouncer: PgBouncer, database: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    """The connection under test (on acme) and a polluter, both stock, through ``bouncer``."""
    ours = stock_wrapper(bouncer, database, POOLED)
    other = stock_wrapper(bouncer, database, "polluter")
    ours.set_schema("acme")
    connections[POOLED] = ours
    connections["polluter"] = other
    try:
        with override_settings(DATABASE_ROUTERS=[ToPooled()]):
            yield ours, other
    finally:
        for alias, wrapper in ((POOLED, ours), ("polluter", other)):
            wrapper.close()
            del connections[alias]


def pollute(other: Any) -> None:
    """Leave the one server connection on globex's schema (a session-level SET)."""
    other.set_schema("globex")
    other.cursor().close()


def test_reads_name_the_schema_whatever_the_pooled_connection_had(
    one_server: PgBouncer, test_database: dict[str, Any], stored: None
) -> None:
    acme = Tenant.objects.get(schema_name="acme")
    with pooled(one_server, test_database) as (ours, other):
        ours.cursor().close()  # django-tenants sets acme's search path (on its own)
        pollute(other)
        # The trap: an unqualified read on this connection now reads globex's table.
        trapped = list(Selection.objects.using(POOLED).values_list("slug", flat=True))
        assert trapped == ["crypto"]
        for _ in range(3):
            pollute(other)
            assert stored_selections(Context(tenant=acme)).tenant_choice("payments") == "card"
        entry = switchyard_cache.cache().get(cache.key_for("acme"))
        assert entry is not None and entry[1] == {"payments": "card"}  # only acme's rows


def test_writes_land_in_the_tenants_schema_whatever_the_pooled_connection_had(
    one_server: PgBouncer, test_database: dict[str, Any], stored: None
) -> None:
    acme = Tenant.objects.get(schema_name="acme")
    with pooled(one_server, test_database) as (ours, other):
        ours.cursor().close()
        pollute(other)
        write_selection("payments", "invoice", via="api", tenant=acme)
        pollute(other)
        with connections[POOLED].cursor() as cursor:
            cursor.execute(
                'SELECT (SELECT slug FROM "acme"."engine_selection" WHERE user_id IS NULL '
                'AND registry = \'payments\'), (SELECT slug FROM "globex"."engine_selection" '
                "WHERE user_id IS NULL AND registry = 'payments'), " + generations.subquery(POOLED),
                [generations.scope_of("acme")],
            )
            acme_slug, globex_slug, acme_generation = cursor.fetchone()
    assert (acme_slug, globex_slug) == ("invoice", "crypto")
    assert acme_generation >= 1


@pytest.fixture(scope="module")
def stored_configs(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Committed Stripe configurations that differ: acme's and globex's keys."""
    with django_db_blocker.unblock():
        for schema in ("acme", "globex"):
            with schema_context(schema):
                StrategyConfiguration.objects.create(
                    registry="payments",
                    slug="stripe",
                    values={"publishable_key": f"pk_{schema}"},
                    secrets={"secret_key": secrets.encrypt(f"sk_{schema}_0123456789")},
                )
        try:
            yield
        finally:
            for schema in ("acme", "globex"):
                with schema_context(schema):
                    StrategyConfiguration.objects.all().delete()
                    ConfigurationHistory.objects.all().delete()
            connection.set_schema_to_public()


def test_configuration_is_read_and_written_in_the_tenants_schema_whatever_the_pool_had(
    one_server: PgBouncer, test_database: dict[str, Any], stored_configs: None
) -> None:
    acme = Tenant.objects.get(schema_name="acme")
    with pooled(one_server, test_database) as (ours, other):
        ours.cursor().close()
        for _ in range(2):  # cold, then from the cache
            pollute(other)
            found = stored_selections(Context(tenant=acme)).config("payments", "stripe")
            assert found is not None and found.values == {"publishable_key": "pk_acme"}
        pollute(other)
        PaymentGateways.configure(
            "stripe",
            {"publishable_key": "pk_acme_2", "secret_key": ""},  # blank: keeps acme's secret
            Context(tenant=acme),
            via="test",
        )
        pollute(other)
        with connections[POOLED].cursor() as cursor:
            cursor.execute(
                'SELECT (SELECT values FROM "acme"."engine_strategyconfiguration"), '
                '(SELECT values FROM "globex"."engine_strategyconfiguration")'
            )
            acme_values, globex_values = cursor.fetchone()
    assert "pk_acme_2" in str(acme_values) and "pk_globex" in str(globex_values)
