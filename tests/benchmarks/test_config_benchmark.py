"""Configuration benchmark: reading a configured strategy against an unconfigured one.

Two registries on one tenant: ``bench_plain`` (its strategy declares no Config) and
``bench_keyed`` (its strategy declares two plain fields and a secret, all stored). Every round
is a new request that has made its one cache round trip (shared by both registries, the
configuration included). Measured: resolving each, and the configured one with its secret
read (decrypted once per request). Targets: a warm request reading both is 0 SQL queries and
one cache round trip; resolving the configured strategy costs at most 3x the unconfigured one
(the secret is not decrypted until read). ``make bench`` prints the numbers and the ratios.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django import forms
from django.http import HttpResponse
from django.test import RequestFactory
from django_tenants.utils import tenant_context

from conditions import Context
from engine import Registry, SecretField, Strategy, StrategyConfig, StrategyNamespace
from engine.middleware import StrategyMiddleware
from engine.storage.reads import stored_selections
from engine.storage.writes import write_selection
from engine.testing import isolated_registries
from tenants.models import Tenant
from tests.benchmarks.test_engine_benchmark import CountingCache, _best_seconds
from tests.transactions import settled

SECRET = "sk_live_benchmark_0123456789"
RESOLUTION_RATIO_TARGET = 3
ROUNDS = 3000


@pytest.fixture
def scenario(pro_tenant: Tenant) -> Iterator[StrategyMiddleware]:
    with isolated_registries():

        class Plain(Registry):
            key = "bench_plain"

        class Keyed(Registry):
            key = "bench_keyed"

        class Card(Strategy):
            registry = Plain
            slug = "card"

        class Stripe(Strategy):
            registry = Keyed
            slug = "stripe"

            class Config(StrategyConfig):
                publishable_key = forms.CharField(max_length=100)
                statement_descriptor = forms.CharField(max_length=22, required=False)
                secret_key = SecretField()

        with settled():
            write_selection("bench_plain", "card", via="api", tenant=pro_tenant)
            Keyed.configure(
                "stripe",
                {"publishable_key": "pk_live_1", "statement_descriptor": "X", "secret_key": SECRET},
                Context(tenant=pro_tenant),
                select=True,
            )
        request = RequestFactory().get("/")
        request.tenant = pro_tenant  # type: ignore[attr-defined]
        middleware = StrategyMiddleware(lambda request: HttpResponse())
        with tenant_context(pro_tenant):
            middleware.get_namespace(request).bench_keyed  # noqa: B018 - warms the cache
            yield lambda: middleware.get_namespace(request)  # type: ignore[misc]


def after_round_trip(new: Any) -> tuple[tuple[StrategyNamespace], dict[str, Any]]:
    namespace = new()
    stored_selections(namespace.context)
    return (namespace,), {}


def test_a_warm_request_reading_a_configured_strategy_is_one_round_trip_and_no_query(
    scenario: Any, django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = CountingCache(monkeypatch)
    with django_assert_num_queries(0):
        namespace = scenario()
        assert namespace.bench_plain.slug == "card"
        assert namespace.bench_keyed.config.secret_key == SECRET
        assert namespace.bench_keyed.config.publishable_key == "pk_live_1"
    assert counting.calls == ["get_many"]


def test_configured_against_unconfigured(scenario: Any, benchmark: Any) -> None:
    def configured(namespace: StrategyNamespace) -> Any:
        return namespace.bench_keyed

    result = benchmark.pedantic(configured, setup=lambda: after_round_trip(scenario), rounds=ROUNDS)
    assert result.slug == "stripe"
    if benchmark.disabled:
        return

    def plain() -> Any:
        (namespace,), _ = after_round_trip(scenario)
        return namespace.bench_plain

    def keyed() -> Any:
        (namespace,), _ = after_round_trip(scenario)
        return namespace.bench_keyed

    def keyed_with_secret() -> Any:
        (namespace,), _ = after_round_trip(scenario)
        return namespace.bench_keyed.config.secret_key

    def round_trip_only() -> Any:
        return after_round_trip(scenario)

    trip, unconfigured, configured_best, with_secret = _best_seconds(
        round_trip_only, plain, keyed, keyed_with_secret, rounds=100
    )
    base = unconfigured - trip
    ours = configured_best - trip
    secret = with_secret - trip
    print(
        f"\nconfig: warm resolution (after the request's one round trip, {trip * 1e6:.1f} us): "
        f"unconfigured strategy {base * 1e6:.1f} us; configured (3 fields) {ours * 1e6:.1f} us "
        f"(ratio {ours / base:.2f}x, target <= {RESOLUTION_RATIO_TARGET}x); configured and its "
        f"secret read (one Fernet decryption) {secret * 1e6:.1f} us (ratio {secret / base:.1f}x)"
    )
    assert ours / base <= RESOLUTION_RATIO_TARGET
