"""What a worker keeps in memory per tenant it has served, on the configuration we ship (Redis).

``TENANTS`` tenants (rows only: their selections are put in the cache, so no request reads
their schema), each served one request through the example site's whole chain, the view
resolving ``payments`` and listing what is available; then the same tenants again, warm.
``tracemalloc`` measures what stays allocated afterwards (after a garbage collection): the
routing predictions, the generations, anything else a process keeps per tenant. The same for
a plain django-tenants chain, for comparison. Printed: bytes per tenant, and the largest
holders. Asserted: at most ``TARGET_BYTES`` per tenant.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import path

from engine.storage import cache as selections_cache
from tenants.models import Domain, Tenant
from tests.benchmarks.asgi_support import plain_tenants_chain
from tests.redis_server import RedisServer, redis_server, shared_cache  # noqa: F401

TENANTS = 1_000
WARM_UP = 50
TARGET_BYTES = 2 * 1024


def strategies(request: HttpRequest) -> HttpResponse:
    """The strategy in force for payments and the strategies available, as one line."""
    namespace = request.strategy  # type: ignore[attr-defined]
    offered = ",".join(strategy.slug for strategy in namespace.available("payments"))
    return HttpResponse(f"{namespace.payments.slug} {offered}")


def tenant(request: HttpRequest) -> HttpResponse:
    """The same page in a plain django-tenants project: the tenant's plan."""
    return HttpResponse(request.tenant.plan)  # type: ignore[attr-defined]


urlpatterns = [path("strategies/", strategies), path("tenant/", tenant)]
EXPECTED = {"/strategies/": b"card card", "/tenant/": b"free"}


def _tenants(count: int, prefix: str) -> list[str]:
    """Create ``count`` tenants (rows only) with their selections cached; return their hosts."""
    connection.set_schema_to_public()
    tenants = Tenant.objects.bulk_create(
        Tenant(schema_name=f"{prefix}{n}", name=f"{prefix} {n}", plan="free") for n in range(count)
    )
    hosts = [f"{tenant.schema_name}.localhost" for tenant in tenants]
    Domain.objects.bulk_create(
        Domain(domain=host, tenant=tenant, is_primary=True)
        for host, tenant in zip(hosts, tenants, strict=True)
    )
    # Generation 0 with nothing chosen or configured: what a tenant without selections has cached.
    selections_cache.fill({selections_cache.key_for(t.schema_name): (0, {}, {}) for t in tenants})
    return hosts


def _serve(handler: WSGIHandler, hosts: list[str], path: str) -> None:
    """One request per host through ``handler``, as a WSGI server calls it."""
    factory = RequestFactory()
    for host in hosts:
        response = handler(factory.get(path, HTTP_HOST=host).environ, _start_response)
        content = b"".join(response)
        response.close()
        assert content == EXPECTED[path], (host, content[:200])


def _start_response(status: str, headers: list[tuple[str, str]]) -> None:
    assert status.startswith("200"), status


@contextmanager
def _connections_kept() -> Iterator[None]:
    """Keep the test's connection (and its transaction) open across requests, as the test
    client does; done once here, because each ``connect`` of a module-level receiver leaves a
    ``weakref.finalize`` behind for good (the client's per-request reconnect would be measured).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _grown(handler: WSGIHandler, warm_up: list[str], hosts: list[str], path: str) -> Any:
    """Serve ``hosts`` twice through ``handler`` (after ``warm_up``); return what stayed."""
    _serve(handler, warm_up, path)  # modules, the flag snapshot, the first generation poll
    _serve(handler, warm_up, path)
    gc.collect()
    tracemalloc.start(5)
    try:
        before = tracemalloc.take_snapshot()
        _serve(handler, hosts, path)  # cold: each host's routing from the database
        _serve(handler, hosts, path)  # warm
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    return after.compare_to(before, "traceback")


@override_settings(ROOT_URLCONF=__name__)
def test_memory_per_tenant_served(
    shared_cache: RedisServer,  # noqa: F811
    db: None,
    benchmark: Any,
) -> None:
    count = 20 if benchmark.disabled else TENANTS
    warm_up, hosts = _tenants(WARM_UP, "warm"), _tenants(count, "mem")
    plain_hosts = _tenants(count, "plain")
    with _connections_kept():
        # The example site's whole chain, as a worker loads it; then a plain django-tenants one.
        grown = _grown(WSGIHandler(), warm_up, hosts, "/strategies/")
        with override_settings(MIDDLEWARE=plain_tenants_chain()):
            plain = _grown(WSGIHandler(), warm_up, plain_hosts, "/tenant/")
    benchmark.pedantic(lambda: None, rounds=1)
    per_tenant = sum(stat.size_diff for stat in grown) / count
    plain_per_tenant = sum(stat.size_diff for stat in plain) / count
    if not benchmark.disabled:
        lines = [
            f"{per_tenant:.0f} bytes per tenant served ({count} tenants, target <= 2 KiB); "
            f"a plain django-tenants chain {plain_per_tenant:.0f} bytes"
        ]
        for stat in sorted(grown, key=lambda s: -s.size_diff)[:6]:
            frame = stat.traceback[-1]
            lines.append(
                f"{stat.size_diff / count:.0f} B/tenant at {frame.filename}:{frame.lineno}"
            )
        print("\nmemory: " + "\nmemory: ".join(lines))
    assert per_tenant <= TARGET_BYTES
