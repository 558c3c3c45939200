"""Cache outage benchmark: requests per second with Switchyard's cache down versus up.

A tenant's home page (routing, sessions, ``request.strategy`` with explanations, the flags)
through the example site's whole middleware chain, with Switchyard's cache alias on a private
``redis-server`` (tests/redis_server.py): warm with the cache up (no SQL query), then with
the server stopped, when every read goes to PostgreSQL and the cache is left alone for
``CACHE_RETRY_AFTER`` seconds after the first failure. The ratio is printed; the only bound
asserted is a generous sanity one (an outage costs the database reads, not timeouts).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants.models import Tenant
from tests.redis_server import RedisServer, redis_server, shared_cache  # noqa: F401

HOST = "globex.localhost"
ROUNDS = 200
# Down must keep at least this share of the up speed: the outage costs queries, not timeouts.
SANITY_RATIO = 0.2


def _request(client: Client, tenant: Tenant) -> Callable[[], None]:
    def request() -> None:
        response = client.get("/")
        assert response.status_code == 200
        assert response.context["tenant"] == tenant

    return request


def _queries(request: Callable[[], None]) -> int:
    with CaptureQueriesContext(connection) as captured:
        request()
    return sum(not q["sql"].startswith("SET ") for q in captured.captured_queries)


def _median_seconds(request: Callable[[], None], rounds: int) -> float:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        request()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def test_requests_per_second_with_the_cache_down_versus_up(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    benchmark: Any,
) -> None:
    request = _request(Client(HTTP_HOST=HOST), pro_tenant)
    request()  # warm: routing, selections and the flag snapshot are cached
    assert _queries(request) == 0
    rounds = 1 if benchmark.disabled else ROUNDS
    up = _median_seconds(request, rounds)

    shared_cache.stop()
    request()  # the failure that starts the back-off
    down_queries = _queries(request)
    assert down_queries >= 1  # the database answers
    benchmark.pedantic(request, rounds=rounds, iterations=1)
    if benchmark.disabled:
        return
    down = benchmark.stats.stats.median
    print(
        f"\ncache outage: {HOST}/ through the whole middleware chain, cache up "
        f"{1 / up:.0f} req/s (median {up * 1e3:.2f} ms, 0 queries); cache down "
        f"{1 / down:.0f} req/s (median {down * 1e3:.2f} ms, {down_queries} queries); "
        f"down/up = {up / down:.2f}x (sanity bound >= {SANITY_RATIO}x)"
    )
    assert up / down >= SANITY_RATIO
