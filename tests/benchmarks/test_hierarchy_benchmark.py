"""Hierarchy benchmark: a warm request reading a child registry and its parent.

Each round is a new request (a new namespace and context) after its one cache round trip,
as ``request.strategy`` makes it. Reading ``networks`` resolves its parent ``gateways`` through
the namespace's memo, so reading both costs one resolution each, never the parent twice.
Target: child and parent together at most 2.5x the parent alone (best against best); the
warm request stays at no SQL query and one cache round trip. ``make bench`` prints the numbers.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from conditions import Context, Setting
from conditions import cache as switchyard_cache
from engine import Registry, Strategy, StrategyNamespace
from engine.storage.reads import stored_selections
from engine.storage.writes import write_selection
from engine.testing import isolated_registries
from tenants.models import Tenant
from tests.transactions import settled

TARGET_RATIO = 2.5
COUNT = 10  # strategies per registry


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with isolated_registries(), tenant_context(free_tenant):

        class Gateways(Registry):
            key = "bench_gateways"

        class Networks(Registry):
            key = "bench_networks"
            parent = "bench_gateways"

        for i in range(COUNT):
            condition = (
                Setting(f"BENCH_GATEWAY_{i}") if i % 2 else Setting("DEBUG") | ~Setting("DEBUG")
            )
            type(
                f"G{i}",
                (Strategy,),
                {"registry": Gateways, "slug": f"g{i}", "condition": condition},
            )
            type(
                f"N{i}",
                (Strategy,),
                {"registry": Networks, "slug": f"n{i}", "parents": {f"g{i % 3 * 2}"}},
            )
        with settled():
            write_selection("bench_gateways", "g2", via="api", tenant=free_tenant)
            write_selection("bench_networks", "n4", via="api", tenant=free_tenant)
        yield free_tenant


def after_round_trip(tenant: Tenant) -> StrategyNamespace:
    """A new request that has made its one cache round trip."""
    namespace = StrategyNamespace(Context(tenant=tenant), connection_tenant=True)
    stored_selections(namespace.context)
    return namespace


def best(function: Callable[[StrategyNamespace], Any], tenant: Tenant, rounds: int) -> float:
    """Best seconds of ``function`` on a new request's namespace (set up outside the time)."""
    timer = timeit.Timer(
        "function(namespace)",
        "namespace = make()",
        globals={"function": function, "make": lambda: after_round_trip(tenant)},
    )
    return min(timer.repeat(repeat=rounds, number=1))


def test_a_child_and_its_parent_cost_one_resolution_each(
    acme: Tenant,
    benchmark: Any,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    after_round_trip(acme).get("bench_networks")  # the cache is warm from here on
    calls: list[str] = []
    alias = switchyard_cache.cache()
    original = alias.get_many

    def get_many(*args: Any, **kwargs: Any) -> Any:
        calls.append("get_many")
        return original(*args, **kwargs)

    monkeypatch.setattr(alias, "get_many", get_many)
    with django_assert_num_queries(0):
        namespace = StrategyNamespace(Context(tenant=acme), connection_tenant=True)
        assert (namespace.bench_networks.slug, namespace.bench_gateways.slug) == ("n4", "g2")
    assert calls == ["get_many"]
    monkeypatch.undo()

    def both(namespace: StrategyNamespace) -> Any:
        return namespace.bench_networks, namespace.bench_gateways

    def parent(namespace: StrategyNamespace) -> Any:
        return namespace.bench_gateways

    benchmark.pedantic(both, setup=lambda: ((after_round_trip(acme),), {}), rounds=200)
    if benchmark.disabled:
        return
    rounds = 2000
    parent_alone, child_and_parent = best(parent, acme, rounds), best(both, acme, rounds)
    ratio = child_and_parent / parent_alone
    print(
        f"\nhierarchy: warm request.strategy.bench_gateways alone {parent_alone * 1e6:.1f} us; "
        f"with its child bench_networks {child_and_parent * 1e6:.1f} us "
        f"(ratio {ratio:.2f}, target <= {TARGET_RATIO})"
    )
    assert ratio <= TARGET_RATIO
