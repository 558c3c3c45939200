"""One cache round trip per warm request, routing included, counted by a real Redis.

Switchyard's cache alias is a private ``redis-server`` (tests/redis_server.py); the commands a
request sends are counted by the server itself (``INFO commandstats`` after ``CONFIG
RESETSTAT``), through the example site's whole middleware chain.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from engine.storage.reads import AHEAD
from engine.storage.writes import write_selection
from tenants import cache
from tenants.models import Domain, Tenant
from tests.asgi_client import asgi_get
from tests.redis_server import RedisServer, redis_server, shared_cache  # noqa: F401
from tests.transactions import committed, settled


def payments(request: HttpRequest) -> HttpResponse:
    """The strategy in force for payments, and what the routing fetched ahead was left."""
    slug = request.strategy.payments.slug  # type: ignore[attr-defined]
    return HttpResponse(f"{slug} {hasattr(request, AHEAD)}")


def write_then_read(request: HttpRequest) -> HttpResponse:
    """Store ``invoice`` for the request's tenant (committed), then read payments."""
    with committed():
        write_selection("payments", "invoice", via="api", tenant=request.tenant)  # type: ignore[attr-defined]
    return HttpResponse(request.strategy.payments.slug)  # type: ignore[attr-defined]


async def async_payments(request: HttpRequest) -> HttpResponse:
    """``payments`` read from an async view (one thread hop)."""
    strategy = await request.strategy.aget("payments")  # type: ignore[attr-defined]
    return HttpResponse(f"{strategy.slug} {hasattr(request, AHEAD)}")


def configured(request: HttpRequest) -> HttpResponse:
    """The strategy in force for payments and the last characters of its secret key."""
    gateway = request.strategy.payments  # type: ignore[attr-defined]
    return HttpResponse(f"{gateway.slug} {gateway.config.secret_key[-4:]}")


urlpatterns = [
    path("payments/", payments),
    path("configured/", configured),
    path("async-payments/", async_payments),
    path("write-then-read/", write_then_read),
]

URLS = override_settings(ROOT_URLCONF=__name__)


def commands(server: RedisServer, request: Any) -> dict[str, int]:
    """Return the commands ``request()`` sent to ``server``, by name, as the server counted them."""
    client = server.client()
    client.config_resetstat()
    request()
    stats = client.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): int(stat["calls"])
        for name, stat in stats.items()
        if name not in {"cmdstat_config|resetstat", "cmdstat_config", "cmdstat_info"}
    }


def get(host: str, path: str, client: Client | None = None) -> str:
    response = (client or Client(HTTP_HOST=host)).get(path, HTTP_HOST=host)
    assert response.status_code == 200, response.content[:300]
    return response.content.decode()


@URLS
def test_a_warm_request_makes_one_cache_round_trip_and_no_query(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    django_assert_num_queries: Any,
) -> None:
    get("globex.localhost", "/payments/")  # cold: routing, selections and flags are cached
    get("globex.localhost", "/payments/")  # the host's schema is predicted from now on
    with django_assert_num_queries(0):
        sent = commands(shared_cache, lambda: get("globex.localhost", "/payments/"))
    assert sent == {"mget": 1}
    # What was fetched ahead was used (and dropped), not fetched again.
    assert get("globex.localhost", "/payments/") == "card False"


@URLS
def test_the_first_request_of_a_process_predicts_nothing_and_makes_two(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
) -> None:
    get("globex.localhost", "/payments/")
    cache.forget_predictions()  # a new process: the cache is warm, the prediction is not
    assert commands(shared_cache, lambda: get("globex.localhost", "/payments/")) == {"mget": 2}
    assert commands(shared_cache, lambda: get("globex.localhost", "/payments/")) == {"mget": 1}


@URLS
def test_a_wrong_prediction_never_serves_the_predicted_tenants_selections(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    enterprise_tenant: Tenant,
) -> None:
    with committed():
        write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
    assert get("initech.localhost", "/payments/").startswith("invoice")
    assert get("globex.localhost", "/payments/").startswith("card")
    # As if globex.localhost had belonged to initech when this process last saw it.
    cache.predict("globex.localhost", enterprise_tenant.schema_name)
    sent = commands(shared_cache, lambda: get("globex.localhost", "/payments/"))
    assert sent == {"mget": 2}  # initech's entry was fetched, then globex's: never served
    assert get("globex.localhost", "/payments/").startswith("card")
    assert cache.predicted_schema("globex.localhost") == pro_tenant.schema_name


@URLS
def test_a_domain_moved_to_another_tenant_routes_there_with_its_selections(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    enterprise_tenant: Tenant,
) -> None:
    with committed():
        write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
    get("globex.localhost", "/payments/")
    assert get("globex.localhost", "/payments/") == "card False"
    connection.set_schema_to_public()
    with committed():
        Domain.objects.filter(domain="globex.localhost").update(tenant=enterprise_tenant)
        cache.forget_hosts(["globex.localhost"])  # what the domain's save signal does
    assert get("globex.localhost", "/payments/") == "invoice False"


@URLS
def test_a_deleted_domain_stops_routing_though_it_is_predicted(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
) -> None:
    get("globex.localhost", "/payments/")
    assert cache.predicted_schema("globex.localhost") == pro_tenant.schema_name
    connection.set_schema_to_public()
    with committed():
        Domain.objects.filter(domain="globex.localhost").delete()
    response = Client(HTTP_HOST="globex.localhost", raise_request_exception=False).get("/payments/")
    assert response.status_code == 404
    assert cache.predicted_schema("globex.localhost") is None


@URLS
def test_a_request_reads_its_own_write_though_its_routing_fetched_before_it(
    shared_cache: RedisServer,  # noqa: F811
    enterprise_tenant: Tenant,
) -> None:
    assert get("initech.localhost", "/payments/").startswith("card")
    assert get("initech.localhost", "/payments/").startswith("card")
    assert get("initech.localhost", "/write-then-read/") == "invoice"


@URLS
def test_a_failing_cache_is_a_miss_for_the_routing_and_the_selections(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    django_assert_max_num_queries: Any,
) -> None:
    get("globex.localhost", "/payments/")
    get("globex.localhost", "/payments/")
    shared_cache.stop()
    with django_assert_max_num_queries(3):  # the domain, the selections, the flag snapshot
        assert get("globex.localhost", "/payments/").startswith("card")


@URLS
def test_an_async_view_makes_one_cache_round_trip_too(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
) -> None:
    client = AsyncClient()
    assert asgi_get(client, "globex.localhost", "/async-payments/").status_code == 200
    assert asgi_get(client, "globex.localhost", "/async-payments/").status_code == 200
    sent: dict[str, Any] = {}

    def request() -> None:
        sent["response"] = asgi_get(client, "globex.localhost", "/async-payments/")

    assert commands(shared_cache, request) == {"mget": 1}
    assert sent["response"].content == b"card False"


def test_predictions_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    cache.forget_predictions()
    monkeypatch.setattr(cache._predicted, "size", 3)
    for n in range(5):
        cache.predict(f"h{n}.example", f"s{n}")
    assert [cache.predicted_schema(f"h{n}.example") for n in range(5)] == [
        None,
        None,
        "s2",
        "s3",
        "s4",
    ]
    cache.predict("h4.example", None)  # routes nowhere now: no guess left
    assert cache.predicted_schema("h4.example") is None
    cache.forget_predictions()


@URLS
def test_a_warm_request_reading_a_configured_strategy_is_still_one_round_trip(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    django_assert_num_queries: Any,
) -> None:
    from conditions import Context
    from example_site.registries.payments import PaymentGateways

    secret = "sk_test_globex_roundtrip_4242"
    with settled():  # committed, and its invalidation marker gone (the private Redis)
        PaymentGateways.configure(
            "stripe",
            {"publishable_key": "pk_test_1", "secret_key": secret},
            Context(tenant=pro_tenant),
            select=True,
        )
    get("globex.localhost", "/configured/")  # cold: everything is cached
    assert get("globex.localhost", "/configured/") == "stripe 4242"  # the host predicted
    with django_assert_num_queries(0):
        sent = commands(shared_cache, lambda: get("globex.localhost", "/configured/"))
    assert sent == {"mget": 1}
    client = shared_cache.client()
    stored = b"".join(client.get(key) or b"" for key in client.keys("*"))
    assert b"pk_test_1" in stored and secret.encode() not in stored  # the token only
