"""``tenants.postgresql_backend`` behind a real PgBouncer in transaction pooling mode.

A private PgBouncer (tests/servers.py) sits in front of the test database. The connections
under test are made here, not by pytest-django, and see only committed data: the ``committed``
fixture creates, in each of the three demo tenants' schemas, a group named after the schema, a
user ``pooling`` in it and a logged-in session, and removes them afterwards (the test
database's per-test transactions cannot reach another connection).

The stock django-tenants backend is run in the same setup, to show the tests can fail: its
session-level ``SET search_path`` is one transaction and the next statement another, which the
pooler may run on another client's server connection.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, IntegrityError, NotSupportedError, connection, connections
from django.db import transaction as db_transaction
from django.db.models import F
from django.db.utils import load_backend
from django.http import HttpRequest, JsonResponse
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django_tenants.utils import schema_context

from example_site.demo import DEMO_TENANTS
from tenants.checks_pooling import check_pooling_backend
from tenants.postgresql_backend.cursor import needs_own_transaction
from tests.servers import PgBouncer, running_pgbouncer

PINNED = "tenants.postgresql_backend"
STOCK = "django_tenants.postgresql_backend"
SCHEMAS = tuple(tenant.schema_name for tenant in DEMO_TENANTS)  # acme, globex, initech
USERNAME = "pooling"
THREADS = 6
REQUESTS_PER_THREAD = 40

# The connections under test are this module's own; the test database must exist.
pytestmark = pytest.mark.django_db


def marker(schema: str) -> str:
    """The name of the group that exists only in ``schema``."""
    return f"pooling-{schema}"


def whoami(request: HttpRequest) -> JsonResponse:
    """What this request read, and where: the answer a tenant expects is all about itself."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        (current_schema,) = cursor.fetchone()
    user = request.user
    return JsonResponse(
        {
            "schema": connection.schema_name,
            "current_schema": current_schema,
            "user": user.get_username() if user.is_authenticated else None,
            "groups": sorted(user.groups.values_list("name", flat=True)),  # type: ignore[union-attr]
            "markers": sorted(
                Group.objects.filter(name__startswith="pooling-").values_list("name", flat=True)
            ),
        }
    )


# The URLconf of the request tests (ROOT_URLCONF = this module).
urlpatterns = [path("whoami/", whoami)]


def expected(schema: str) -> dict[str, Any]:
    mark = marker(schema)
    return {
        "schema": schema,
        "current_schema": schema,
        "user": USERNAME,
        "groups": [mark],
        "markers": [mark],
    }


@pytest.fixture(scope="module")
def test_database(django_db_setup: None) -> dict[str, Any]:
    """The test database's settings (its name is known once pytest-django created it)."""
    return dict(connection.settings_dict)


@pytest.fixture(scope="module")
def pooler(test_database: dict[str, Any]) -> Iterator[PgBouncer]:
    """Transaction pooling, two server connections for every client of the test database."""
    with running_pgbouncer(test_database, pool_mode="transaction", pool_size=2) as bouncer:
        yield bouncer


@pytest.fixture(scope="module")
def one_server(test_database: dict[str, Any]) -> Iterator[PgBouncer]:
    """Transaction pooling with a single server connection: clients interleave on it."""
    with running_pgbouncer(test_database, pool_mode="transaction", pool_size=1) as bouncer:
        yield bouncer


@pytest.fixture(scope="module")
def committed(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, str]]:
    """Per schema: a marker group, user ``pooling`` in it and its session key (committed)."""
    session_keys: dict[str, str] = {}
    with django_db_blocker.unblock():
        try:
            for schema in SCHEMAS:
                with schema_context(schema):
                    _forget(schema, session_keys)  # what a crashed run may have left
                    session_keys[schema] = _log_in(schema)
            yield session_keys
        finally:
            for schema in SCHEMAS:
                with schema_context(schema):
                    _forget(schema, session_keys)
            connection.set_schema_to_public()


def _forget(schema: str, session_keys: Mapping[str, str]) -> None:
    Session.objects.filter(session_key__in=session_keys.values()).delete()
    User.objects.filter(username=USERNAME).delete()
    Group.objects.filter(name__startswith="pooling-").delete()


def _log_in(schema: str) -> str:
    group = Group.objects.create(name=marker(schema))
    user = User.objects.create_user(USERNAME)
    user.groups.add(group)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    assert session.session_key is not None
    return session.session_key


def open_wrapper(
    engine: str, bouncer: PgBouncer, database: Mapping[str, Any], alias: str, **changes: Any
) -> Any:
    """A new Django connection of ``engine`` that goes through ``bouncer``."""
    options = {"CONN_MAX_AGE": None, "DISABLE_SERVER_SIDE_CURSORS": True, **changes}
    config = bouncer.django_settings(database, ENGINE=engine, **options)
    return load_backend(engine).DatabaseWrapper(config, alias)


@contextmanager
def pooled(
    engine: str, bouncer: PgBouncer, database: Mapping[str, Any], schema: str, alias: str
) -> Iterator[Any]:
    """A connection through ``bouncer`` on ``schema``, registered as ``alias`` for the ORM."""
    wrapper = open_wrapper(engine, bouncer, database, alias)
    wrapper.set_schema(schema)
    connections[alias] = wrapper
    try:
        yield wrapper
    finally:
        wrapper.close()
        del connections[alias]


def scalar(wrapper: Any, sql: str, params: Any = None) -> Any:
    with wrapper.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def pollute(wrapper: Any, schema: str) -> None:
    """A stock client's session-level ``SET search_path`` on the pooler's server connection."""
    wrapper.set_schema(schema)
    wrapper.cursor().close()  # django-tenants sets the search path when it opens a cursor


def markers(alias: str) -> list[str]:
    names = Group.objects.using(alias).filter(name__startswith="pooling-")
    return sorted(names.values_list("name", flat=True))


# One server connection, two clients taking turns on it ------------------------------------


def test_two_clients_share_the_one_server_connection(
    one_server: PgBouncer, test_database: dict[str, Any]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "acme", "pooled_a") as a,
        pooled(PINNED, one_server, test_database, "globex", "pooled_b") as b,
    ):
        pid = scalar(a, "SELECT pg_backend_pid()")
        assert scalar(b, "SELECT pg_backend_pid()") == pid
        (pool,) = [
            row for row in one_server.show("POOLS") if row["database"] == a.settings_dict["NAME"]
        ]
    assert pool["pool_mode"] == "transaction"
    assert pool["cl_active"] + pool.get("cl_idle", 0) == 2


def test_the_stock_backend_runs_a_statement_in_the_schema_another_client_set(
    one_server: PgBouncer, test_database: dict[str, Any]
) -> None:
    """The failure this backend exists for, reproduced deterministically."""
    with (
        pooled(STOCK, one_server, test_database, "acme", "pooled_a") as acme,
        pooled(STOCK, one_server, test_database, "globex", "pooled_b") as globex,
    ):
        cursor = acme.cursor()  # SET search_path = acme, in a transaction of its own
        globex.cursor().close()  # SET search_path = globex, on the same server connection
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone()[0] == "globex"
        cursor.close()


def test_each_statement_runs_in_its_clients_schema_whatever_the_server_connection_had(
    one_server: PgBouncer, test_database: dict[str, Any], committed: dict[str, str]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "acme", "pooled_a") as acme,
        pooled(STOCK, one_server, test_database, "globex", "pooled_b") as stock,
    ):
        cursor = acme.cursor()
        pollute(stock, "globex")
        cursor.execute("SELECT current_schema()")
        assert cursor.fetchone()[0] == "acme"
        cursor.close()
        for schema in ("initech", "public", "globex"):
            pollute(stock, schema)
            assert markers("pooled_a") == [marker("acme")]
        acme.set_schema("initech")
        pollute(stock, "globex")
        assert markers("pooled_a") == [marker("initech")]
        acme.set_schema_to_public()
        assert scalar(acme, "SELECT current_schema()") == "public"
        # The pin is transaction-local: the server connection keeps the other client's path.
        assert scalar(stock, "SELECT current_schema()") == "globex"


def test_a_transaction_pins_its_schema_also_after_a_switch_and_a_savepoint_rollback(
    one_server: PgBouncer, test_database: dict[str, Any], committed: dict[str, str]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "acme", "pooled_a") as acme,
        pooled(STOCK, one_server, test_database, "globex", "pooled_b") as stock,
    ):
        pollute(stock, "globex")
        with db_transaction.atomic(using="pooled_a"):
            assert markers("pooled_a") == [marker("acme")]
            acme.set_schema("initech")
            assert markers("pooled_a") == [marker("initech")]
            with (
                pytest.raises(IntegrityError),
                db_transaction.atomic(using="pooled_a"),
            ):
                acme.set_schema("globex")
                Group.objects.using("pooled_a").create(name=marker("globex"))  # exists
            # ROLLBACK TO SAVEPOINT ran (it would not with a SET in front of it in the
            # aborted transaction) and took the SET LOCAL of globex with it.
            assert markers("pooled_a") == [marker("globex")]
            acme.set_schema("acme")
            assert markers("pooled_a") == [marker("acme")]


def test_a_set_local_the_code_runs_in_a_transaction_holds_until_the_next_switch(
    one_server: PgBouncer, test_database: dict[str, Any], committed: dict[str, str]
) -> None:
    """Such code is pooler-safe already (tenants.template does it): it is left alone."""
    with pooled(PINNED, one_server, test_database, "acme", "pooled_a") as acme:
        with db_transaction.atomic(using="pooled_a"):
            assert markers("pooled_a") == [marker("acme")]
            assert acme.schema_pin.pinned == '"acme", "public"'  # once, for the transaction
            with acme.cursor() as cursor:
                cursor.execute('SET LOCAL search_path = "globex"')
            assert markers("pooled_a") == [marker("globex")]
            acme.set_schema("initech")
            assert markers("pooled_a") == [marker("initech")]
        assert acme.schema_pin.pinned is None
        assert markers("pooled_a") == [marker("initech")]


def test_orm_results_rowcounts_and_returning_come_from_the_statement_not_the_set(
    one_server: PgBouncer, test_database: dict[str, Any], committed: dict[str, str]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "acme", "pooled_a"),
        db_transaction.atomic(using="pooled_a"),
    ):
        groups = Group.objects.using("pooled_a")
        created = groups.bulk_create([Group(name="pooling-x1"), Group(name="pooling-x2")])
        assert all(group.pk for group in created)  # RETURNING "id", read after the SET
        assert groups.filter(name__in=["pooling-x1", "pooling-x2"]).update(name=F("name")) == 2
        assert groups.filter(name__startswith="pooling-x").count() == 2
        names = groups.filter(name__startswith="pooling-").order_by("name")
        assert [g.name for g in names.iterator(chunk_size=1)] == [
            marker("acme"),
            "pooling-x1",
            "pooling-x2",
        ]
        assert groups.filter(name__startswith="pooling-x").delete()[0] == 2
        db_transaction.set_rollback(True, using="pooled_a")


def test_executemany_copy_and_stream_are_pinned_too(
    one_server: PgBouncer, test_database: dict[str, Any]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "initech", "pooled_a") as initech,
        pooled(STOCK, one_server, test_database, "globex", "pooled_b") as stock,
    ):
        for in_transaction in (False, True):
            initech.set_autocommit(not in_transaction)
            pollute(stock, "globex")
            raw = initech.cursor().cursor  # the psycopg cursor under Django's wrapper
            raw.executemany("SELECT current_schema(), %s", [(1,), (2,)], returning=True)
            rows = [raw.fetchone()]
            while raw.nextset():
                rows.append(raw.fetchone())
            assert rows == [("initech", 1), ("initech", 2)]
            with raw.copy("COPY (SELECT current_schema()) TO STDOUT") as copy:
                assert [tuple(row) for row in copy.rows()] == [("initech",)]
            assert list(raw.stream("SELECT current_schema()")) == [("initech",)]
            raw.close()
            if in_transaction:
                initech.rollback()
                initech.set_autocommit(True)


def test_percent_signs_in_schema_names_and_queries(
    one_server: PgBouncer, test_database: dict[str, Any]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "we%ird", "pooled_a") as weird,
        CaptureQueriesContext(weird) as captured,
    ):
        # A search path may name a schema that does not exist; this one never does.
        path = scalar(weird, "SELECT current_setting('search_path') || %s", ["!"])
        assert path == '"we%ird", public!'
        assert scalar(weird, "SELECT current_setting('search_path')") == '"we%ird", public'
        assert scalar(weird, "SELECT %s || '%%'", ["100"]) == "100%"
    assert [query["sql"] for query in captured.captured_queries] == [
        "SELECT current_setting('search_path') || '!'",
        "SELECT current_setting('search_path')",
        "SELECT '100' || '%'",
    ]


def test_statements_that_refuse_a_transaction_block_still_run(
    test_database: dict[str, Any],
) -> None:
    wrapper = load_backend(PINNED).DatabaseWrapper(
        {**test_database, "ENGINE": PINNED, "DISABLE_SERVER_SIDE_CURSORS": True}, "direct"
    )
    wrapper.set_schema("acme")
    # Registered, as connection_created receivers (django.contrib.postgres) look it up.
    connections["direct"] = wrapper
    try:
        with wrapper.cursor() as cursor:
            cursor.execute('VACUUM "auth_group"')  # in acme: its own SET, then VACUUM alone
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == "acme"
    finally:
        wrapper.close()
        del connections["direct"]


@pytest.mark.parametrize(
    ("statement", "alone"),
    [
        ("VACUUM", True),
        ('  vacuum analyze "t"', True),
        ('CREATE DATABASE "x"', True),
        ('DROP DATABASE IF EXISTS "x"', True),
        ('CREATE INDEX CONCURRENTLY "i" ON "t" ("c")', True),
        ('CREATE UNIQUE INDEX CONCURRENTLY "i" ON "t" ("c")', True),
        ('DROP INDEX CONCURRENTLY IF EXISTS "i"', True),
        ('REINDEX INDEX CONCURRENTLY "i"', True),
        ("ALTER SYSTEM SET fsync = off", True),
        (b"VACUUM", True),
        ("SELECT 1", False),
        ('REFRESH MATERIALIZED VIEW CONCURRENTLY "v"', False),
        ("SELECT 'VACUUM'", False),
        ('CREATE INDEX "i" ON "t" ("c")', False),
        ("INSERT INTO \"t\" VALUES ('CREATE DATABASE')", False),
    ],
)
def test_which_statements_cannot_share_a_transaction_block(
    statement: str | bytes, alone: bool
) -> None:
    assert needs_own_transaction(statement) is alone


def test_server_side_cursors_are_refused(
    one_server: PgBouncer, test_database: dict[str, Any]
) -> None:
    with (
        pooled(PINNED, one_server, test_database, "acme", "pooled_a") as acme,
        pytest.raises(NotSupportedError, match="DISABLE_SERVER_SIDE_CURSORS"),
    ):
        acme.chunked_cursor()


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"DISABLE_SERVER_SIDE_CURSORS": False}, '"DISABLE_SERVER_SIDE_CURSORS": True'),
        ({"OPTIONS": {"server_side_binding": True}}, 'OPTIONS["server_side_binding"]'),
        ({"OPTIONS": {"assume_role": "tenant_role"}}, 'OPTIONS["assume_role"]'),
    ],
)
def test_the_backend_refuses_to_connect_with_unsafe_settings(
    one_server: PgBouncer,
    test_database: dict[str, Any],
    changes: dict[str, Any],
    problem: str,
) -> None:
    wrapper = open_wrapper(PINNED, one_server, test_database, "pooled_a", **changes)
    with pytest.raises(ImproperlyConfigured) as refused:
        wrapper.ensure_connection()
    assert str(refused.value).startswith('DATABASES["pooled_a"] uses tenants.postgresql_backend')
    assert problem in str(refused.value)
    assert wrapper.connection is None


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_e130_names_each_unsafe_setting_of_each_alias() -> None:
    pinned = {"ENGINE": PINNED, "DISABLE_SERVER_SIDE_CURSORS": True, "OPTIONS": {}}
    databases = {
        **settings.DATABASES,
        "pooled": pinned,
        "cursors": {**pinned, "DISABLE_SERVER_SIDE_CURSORS": False},
        "binding": {**pinned, "OPTIONS": {"server_side_binding": True, "cursor_factory": 1}},
        "stock": {"ENGINE": STOCK},
    }
    with override_settings(DATABASES=databases):
        errors = check_pooling_backend()
        ids = {message.id for message in run_checks()}
    assert [error.msg.split(" uses ")[0] for error in errors] == [
        'DATABASES["cursors"]',
        'DATABASES["binding"]',
        'DATABASES["binding"]',
    ]
    assert {error.id for error in errors} == {"switchyard.E130"}
    assert "switchyard.E130" in ids


@pytest.mark.parametrize(
    ("engine", "round_trips", "logged"),
    [(PINNED, 5, ["SELECT"] * 5), (STOCK, 10, ["SET", "SELECT"] * 5)],
    ids=["pinned", "stock-SET-per-cursor"],
)
@override_settings(TENANT_LIMIT_SET_CALLS=False)
def test_the_pin_costs_no_extra_query_or_round_trip(
    one_server: PgBouncer,
    test_database: dict[str, Any],
    committed: dict[str, str],
    engine: str,
    round_trips: int,
    logged: list[str],
) -> None:
    with pooled(engine, one_server, test_database, "acme", "pooled_a") as acme:
        acme.ensure_connection()
        before = _queries_through(one_server, acme)
        with CaptureQueriesContext(acme) as captured:
            for _ in range(5):
                assert markers("pooled_a") == [marker("acme")]
        # Requests the pooler served: the pin rides along in the statement's own message.
        assert _queries_through(one_server, acme) - before == round_trips
    # Django logs each statement as written: the pin goes unlogged, like psycopg's BEGIN.
    assert [query["sql"].split(" ", 1)[0] for query in captured.captured_queries] == logged


def _queries_through(bouncer: PgBouncer, wrapper: Any) -> int:
    (stats,) = [
        row for row in bouncer.show("STATS") if row["database"] == wrapper.settings_dict["NAME"]
    ]
    return int(stats["total_query_count"])


# Concurrent requests through the middleware chain -----------------------------------------


@dataclass
class Outcome:
    """What the clients of one run saw."""

    answers: int = 0
    wrong: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, schema: str, response: Any) -> None:
        body = response.json() if response.status_code == 200 else None
        with self.lock:
            self.answers += 1
            if body != expected(schema):
                self.wrong.append(f"{schema}: {response.status_code} {body}")


def serve_concurrently(
    engine: str,
    bouncer: PgBouncer,
    database: Mapping[str, Any],
    session_keys: Mapping[str, str],
) -> tuple[Outcome, list[dict[str, Any]]]:
    """THREADS clients, each on its own connection through ``bouncer``, on random tenants.

    Returns what they saw and the pooler's pools while every client was still connected.
    """
    outcome = Outcome()
    finished = threading.Barrier(THREADS + 1, timeout=120)
    pools_read = threading.Event()

    def client(seed: int) -> None:
        connections[DEFAULT_DB_ALIAS] = open_wrapper(engine, bouncer, database, DEFAULT_DB_ALIAS)
        try:
            browse(random.Random(seed), session_keys, outcome)
        except Exception as error:  # reported by the test
            outcome.crashes.append(f"{type(error).__name__}: {error}")
        finally:
            finished.wait()
            pools_read.wait(timeout=120)
            connections[DEFAULT_DB_ALIAS].close()

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        finished.wait()
        pools = bouncer.show("POOLS")
    finally:
        pools_read.set()
    for thread in threads:
        thread.join(timeout=120)
    return outcome, [row for row in pools if row["database"] == database["NAME"]]


def browse(rng: random.Random, session_keys: Mapping[str, str], outcome: Outcome) -> None:
    clients = {}
    for schema, session_key in session_keys.items():
        clients[schema] = Client(HTTP_HOST=f"{schema}.localhost", raise_request_exception=False)
        clients[schema].cookies[settings.SESSION_COOKIE_NAME] = session_key
    for _ in range(REQUESTS_PER_THREAD):
        schema = rng.choice(SCHEMAS)
        outcome.record(schema, clients[schema].get("/whoami/"))


@override_settings(ROOT_URLCONF=__name__)
def test_concurrent_requests_on_three_tenants_get_only_their_own_schema(
    pooler: PgBouncer, test_database: dict[str, Any], committed: dict[str, str]
) -> None:
    outcome, pools = serve_concurrently(PINNED, pooler, test_database, committed)
    assert outcome.crashes == []
    assert outcome.answers == THREADS * REQUESTS_PER_THREAD
    assert outcome.wrong == []
    # The clients really shared server connections: THREADS clients, at most two servers.
    (pool,) = pools
    assert pool["cl_active"] + pool.get("cl_idle", 0) + pool["cl_waiting"] == THREADS
    assert 0 < pool["sv_active"] + pool["sv_idle"] + pool["sv_used"] <= pooler.pool_size


@pytest.mark.parametrize("limit_set_calls", [True, False], ids=["limited-SET", "SET-per-cursor"])
def test_the_stock_backend_answers_from_other_schemas_in_the_same_run(
    pooler: PgBouncer,
    test_database: dict[str, Any],
    committed: dict[str, str],
    limit_set_calls: bool,
) -> None:
    with (
        override_settings(ROOT_URLCONF=__name__, TENANT_LIMIT_SET_CALLS=limit_set_calls),
    ):
        outcome, _pools = serve_concurrently(STOCK, pooler, test_database, committed)
    assert outcome.crashes == []
    assert outcome.wrong, "the stock backend answered every request right behind the pooler"
