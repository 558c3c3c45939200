"""Tenant routing when the cache fails: no 5xx, writes commit, lost invalidations are bounded.

Switchyard's cache alias is a private ``redis-server`` (tests/redis_server.py) that the tests
stop, restart and restore from an old snapshot; requests go through the real middleware chain.
``STALENESS_BOUND`` is 1 s here, so "served within the bound" is a sleep just past it.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

import tests.redis_server
from conditions import cache as switchyard_cache
from tenants import cache
from tenants.models import Domain, Tenant
from tests.redis_server import (  # noqa: F401
    RedisServer,
    private_redis,
    redis_server,
    unreachable_cache_settings,
)

ROOT = Path(__file__).resolve().parents[2]
BOUND = 1  # STALENESS_BOUND and CACHE_RETRY_AFTER, in seconds
PAST_THE_BOUND = BOUND + 0.2


@pytest.fixture
def shared_cache(redis_server: RedisServer, settings: Any) -> Iterator[RedisServer]:  # noqa: F811
    """The private Redis as ``SWITCHYARD["CACHE"]`` (and waffle's cache, as on the site)."""
    settings.CACHES = {**settings.CACHES, "switchyard": redis_server.cache_settings()}
    settings.SWITCHYARD = {
        **settings.SWITCHYARD,
        "STALENESS_BOUND": BOUND,
        "CACHE_RETRY_AFTER": BOUND,
    }
    switchyard_cache.reset()
    yield redis_server
    switchyard_cache.reset()  # the back-off is per process: leave none to the next test


@pytest.fixture
def commit(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with commit():`` runs the block's on_commit callbacks as a commit does (unguarded)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def partitioned() -> Any:
    """Settings of a process that cannot reach Switchyard's cache (the others can)."""
    return override_settings(
        CACHES={**django_settings.CACHES, "switchyard": unreachable_cache_settings()}
    )


def get(host: str, path: str = "/") -> Any:
    # A 500 is an answer to count, not an exception in the test.
    return Client(HTTP_HOST=host, raise_request_exception=False).get(path)


def plan_served(host: str) -> str:
    """Return the plan the home page of ``host`` shows (asserting a 200)."""
    response = get(host)
    assert response.status_code == 200, (host, response.status_code)
    return str(response.context["tenant"].plan)


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET ")]


def domain_lookups(captured: CaptureQueriesContext) -> int:
    return sum('FROM "switchyard_tenants_domain"' in sql for sql in statements(captured))


def fingerprint_reads(captured: CaptureQueriesContext) -> int:
    return sum("string_agg" in sql for sql in statements(captured))


def cached_entry(server: RedisServer, hostname: str) -> bool:
    """Return whether the Redis itself holds ``hostname``'s routing entry (any age)."""
    return any(
        key.endswith(cache.host_key(hostname).encode())
        for key in server.client().scan_iter(match="*tenant-host:*")
    )


def change_plan(tenant: Tenant, plan: str) -> None:
    connection.set_schema_to_public()  # where a platform admin saves it (a request left acme)
    tenant.plan = plan
    tenant.save()


# -- the cache stops -------------------------------------------------------------------------


def test_every_tenant_is_routed_while_the_cache_is_stopped(
    shared_cache: RedisServer,
    free_tenant: Tenant,
    pro_tenant: Tenant,
    enterprise_tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hosts = {"acme.localhost": free_tenant, "globex.localhost": pro_tenant}
    hosts["initech.localhost"] = enterprise_tenant
    for host in hosts:
        assert get(host).status_code == 200  # warm

    shared_cache.stop()
    caplog.set_level(logging.WARNING)
    answers = []
    for _round in range(3):
        for host, tenant in hosts.items():
            with CaptureQueriesContext(connection) as captured:
                response = get(host)
            answers.append(response.status_code)
            assert response.context["tenant"] == tenant
            # The database answers routing with the one lookup django-tenants makes.
            assert domain_lookups(captured) == 1
            assert fingerprint_reads(captured) == 0
    assert answers == [200] * 9
    assert get("nobody.localhost").status_code == 404  # an unknown host is still a 404
    # Logged once per kind of failure, not once per request.
    warnings = [r.getMessage() for r in caplog.records if r.name == "switchyard.cache"]
    assert warnings and len(warnings) == len({m.split(":")[0] for m in warnings})


def test_routing_comes_back_to_the_cache_when_it_is_reachable_again(
    shared_cache: RedisServer, pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    assert get("globex.localhost").status_code == 200
    shared_cache.stop()
    assert get("globex.localhost").status_code == 200
    shared_cache.start()  # empty: nothing was saved
    time.sleep(PAST_THE_BOUND)  # the back-off (CACHE_RETRY_AFTER) is over
    assert get("globex.localhost").status_code == 200  # refills the cache
    with django_assert_num_queries(0):
        assert get("globex.localhost").status_code == 200


def test_a_plan_change_saved_while_the_cache_is_down_commits_and_is_served(
    shared_cache: RedisServer,
    free_tenant: Tenant,
    commit: Callable[[], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert plan_served("acme.localhost") == "free"
    shared_cache.save()  # the snapshot the cache will come back from: acme on free
    shared_cache.stop()

    caplog.set_level(logging.WARNING)
    with commit():  # the callbacks run unguarded: one that raised would fail the test
        change_plan(free_tenant, "pro")
    (lost,) = [r.getMessage() for r in caplog.records if r.name == "switchyard.tenants"]
    assert "acme.localhost" in lost and "STALENESS_BOUND=1s" in lost

    assert plan_served("acme.localhost") == "pro"  # the database answers during the outage
    shared_cache.start()
    assert cached_entry(shared_cache, "acme.localhost")  # the old entry came back with it
    time.sleep(PAST_THE_BOUND)
    assert plan_served("acme.localhost") == "pro"
    assert plan_served("acme.localhost") == "pro"


# -- invalidations that never arrived ---------------------------------------------------------


def test_a_plan_change_by_a_writer_partitioned_from_the_cache_is_served_within_the_bound(
    shared_cache: RedisServer, free_tenant: Tenant, commit: Callable[[], Any]
) -> None:
    assert plan_served("acme.localhost") == "free"
    # The writer (a command, a worker) cannot reach the cache the web processes use.
    with partitioned(), commit():
        change_plan(free_tenant, "enterprise")
    switchyard_cache.reset()  # the readers never saw that failure: their cache works
    assert cached_entry(shared_cache, "acme.localhost")  # the invalidation was lost
    time.sleep(PAST_THE_BOUND)
    assert plan_served("acme.localhost") == "enterprise"


def test_a_domain_renamed_by_a_partitioned_writer_stops_routing_within_the_bound(
    shared_cache: RedisServer, free_tenant: Tenant, commit: Callable[[], Any]
) -> None:
    assert get("acme.localhost").status_code == 200
    assert get("acme-corp.localhost").status_code == 404  # remembered as unknown
    with partitioned(), commit():
        Domain.objects.filter(domain="acme.localhost").update(domain="acme-corp.localhost")
    switchyard_cache.reset()
    time.sleep(PAST_THE_BOUND)
    assert get("acme.localhost").status_code == 404
    response = get("acme-corp.localhost")
    assert response.status_code == 200
    assert response.context["tenant"] == free_tenant


def test_a_cache_restored_from_an_old_snapshot_is_served_right_within_the_bound(
    shared_cache: RedisServer, free_tenant: Tenant, commit: Callable[[], Any]
) -> None:
    assert plan_served("acme.localhost") == "free"
    shared_cache.save()
    with commit():  # the cache is up: the invalidation arrives
        change_plan(free_tenant, "pro")
    assert plan_served("acme.localhost") == "pro"

    shared_cache.restart()  # from the snapshot: acme on free again in the cache
    assert cached_entry(shared_cache, "acme.localhost")
    time.sleep(PAST_THE_BOUND)
    assert plan_served("acme.localhost") == "pro"


# -- what the check costs ---------------------------------------------------------------------


def test_steady_state_reads_the_fingerprints_once_per_bound_and_nothing_else(
    shared_cache: RedisServer, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    with CaptureQueriesContext(connection) as cold:
        get("globex.localhost")
    assert (fingerprint_reads(cold), domain_lookups(cold)) == (1, 1)
    with CaptureQueriesContext(connection) as warm:
        for _ in range(5):
            get("globex.localhost")
            get("initech.localhost")  # cold host: its lookup only, the check is fresh
    assert (fingerprint_reads(warm), domain_lookups(warm)) == (0, 1)

    time.sleep(PAST_THE_BOUND)
    with CaptureQueriesContext(connection) as next_period:
        for _ in range(5):
            get("globex.localhost")
            get("initech.localhost")
    # Nothing changed: one fingerprint read, and the entries stay valid (no lookup).
    assert (fingerprint_reads(next_period), domain_lookups(next_period)) == (1, 0)


def test_a_routing_change_reloads_only_the_hosts_of_its_bucket(
    shared_cache: RedisServer, free_tenant: Tenant, pro_tenant: Tenant, commit: Callable[[], Any]
) -> None:
    assert cache.bucket_of("acme.localhost") != cache.bucket_of("globex.localhost")
    get("acme.localhost")
    get("globex.localhost")
    with partitioned(), commit():
        change_plan(free_tenant, "pro")
    switchyard_cache.reset()
    time.sleep(PAST_THE_BOUND)
    with CaptureQueriesContext(connection) as captured:
        assert plan_served("globex.localhost") == "pro"
    assert domain_lookups(captured) == 0  # its bucket did not change: still from the cache
    with CaptureQueriesContext(connection) as captured:
        assert plan_served("acme.localhost") == "pro"
    assert domain_lookups(captured) == 1


def test_a_check_that_could_not_store_its_fingerprints_trusts_nothing(
    shared_cache: RedisServer, pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    get("globex.localhost")
    alias = switchyard_cache.cache()
    # Another check began (its token is in the check key) but never stored fingerprints.
    alias.set(cache.check_key(), "another-check", BOUND)
    assert cache.lookup("globex.localhost") == cache.Route(None, None)
    with CaptureQueriesContext(connection) as captured:
        assert get("globex.localhost").status_code == 200
    assert (domain_lookups(captured), fingerprint_reads(captured)) == (1, 0)


def test_the_sql_buckets_are_the_python_buckets(db: None, pro_tenant: Tenant) -> None:
    Domain.objects.create(domain="bücher.globex.localhost", tenant=pro_tenant, is_primary=False)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT domain, get_byte(decode(md5(domain), 'hex'), 0) "
            "FROM public.switchyard_tenants_domain"
        )
        rows = cursor.fetchall()
    assert len(rows) >= 5
    assert all(bucket == cache.bucket_of(domain) for domain, bucket in rows)


def test_forgetting_hosts_never_raises_even_without_a_cache_alias(
    free_tenant: Tenant, commit: Callable[[], Any], settings: Any
) -> None:
    # A misconfigured alias (the system checks report it) is one more failing cache.
    settings.SWITCHYARD = {**settings.SWITCHYARD, "CACHE": "no-such-alias"}
    try:
        with commit():
            change_plan(free_tenant, "pro")
        assert cache.lookup("acme.localhost") == cache.Route(None, None)
    finally:
        switchyard_cache.reset()


# -- several processes ------------------------------------------------------------------------


class Worker:
    """A process of tests/tenants/routing_worker.py, driven line by line with a timeout."""

    TIMEOUT = 60

    def __init__(self, redis_url: str) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.tenants.routing_worker",
            "SWITCHYARD_WORKER_DATABASE": json.dumps(connection.settings_dict, default=str),
            "SWITCHYARD_WORKER_REDIS": redis_url,
            "SWITCHYARD_WORKER_BOUND": str(BOUND),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.tenants.routing_worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._next()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def _next(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=self.TIMEOUT)
        except queue.Empty:
            pytest.fail(f"routing worker did not answer within {self.TIMEOUT}s")
        if not line:
            assert self.process.stderr is not None
            pytest.fail(f"routing worker exited:\n{self.process.stderr.read()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            pytest.fail(f"routing worker: {answer['error']}")
        return answer

    def ask(self, *command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(" ".join(command) + "\n")
        self.process.stdin.flush()
        return self._next()

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=self.TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def processes(redis_server: RedisServer, db: None) -> Iterator[tuple[Worker, Worker, Worker]]:  # noqa: F811
    """Two web workers sharing the private Redis, and a writer that cannot reach it.

    They use the test database's committed tenants; the writer puts acme back on its plan.
    """
    started: list[Worker] = []
    try:
        started.append(Worker(redis_server.url))
        started.append(Worker(redis_server.url))
        started.append(Worker(unreachable_cache_settings()["LOCATION"]))
        yield started[0], started[1], started[2]
    finally:
        if len(started) == 3:
            started[2].ask("plan", "acme", "free")
        for worker in started:
            worker.stop()


def test_every_worker_serves_a_partitioned_write_within_the_bound_and_survives_an_outage(
    processes: tuple[Worker, Worker, Worker],
    redis_server: RedisServer,  # noqa: F811
) -> None:
    first, second, writer = processes
    acme = {"status": 200, "plan": "free", "schema": "acme"}
    globex = {"status": 200, "plan": "pro", "schema": "globex"}
    for worker in (first, second):
        assert worker.ask("get", "acme.localhost") == acme
        assert worker.ask("get", "globex.localhost") == globex

    writer.ask("plan", "acme", "enterprise")  # committed; its invalidation is lost
    assert cached_entry(redis_server, "acme.localhost")
    time.sleep(PAST_THE_BOUND)
    acme["plan"] = "enterprise"
    for worker in (first, second):
        assert worker.ask("get", "acme.localhost") == acme

    redis_server.stop()
    for _round in range(3):
        for worker in (first, second):
            assert worker.ask("get", "acme.localhost") == acme
            assert worker.ask("get", "globex.localhost") == globex
    redis_server.start()
    time.sleep(PAST_THE_BOUND)
    for worker in (first, second):
        assert worker.ask("get", "globex.localhost") == globex


def test_an_entry_this_code_cannot_read_is_a_miss(
    shared_cache: RedisServer, pro_tenant: Tenant
) -> None:
    route = cache.lookup("globex.localhost")
    assert route.fingerprint is not None
    alias = switchyard_cache.cache()
    alias.set(cache.host_key("globex.localhost"), (route.fingerprint, ("not", "fields", 1)))
    assert cache.lookup("globex.localhost").found is None
    assert plan_served("globex.localhost") == "pro"
    assert cache.cached_tenant("globex.localhost") == pro_tenant  # replaced by a good one


# -- the private Redis itself -----------------------------------------------------------------


def test_the_private_redis_restarts_from_its_last_snapshot(redis_server: RedisServer) -> None:  # noqa: F811
    client = redis_server.client()
    client.set("before", "1")
    redis_server.save()
    client.set("after", "1")
    redis_server.restart()
    client = redis_server.client()
    assert (client.get("before"), client.get("after")) == (b"1", None)
    redis_server.stop()
    assert not redis_server.running
    redis_server.start()
    assert redis_server.client().get("before") == b"1"


@pytest.mark.parametrize("ci", ["", "true"])
def test_a_missing_redis_server_skips_or_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setattr(tests.redis_server.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(expected, match="apt-get install redis-server"):
        private_redis()
