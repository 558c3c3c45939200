"""Sets benchmark: a warm read of a ``multiple`` registry against a single one, same request.

The engine benchmark's scenario (20 strategies, ``(Permission & Setting) | Flag`` each, the
tenant's stored choice) plus a registry holding a set over the same 20 conditions: a stored
set of 4 slugs (one mandatory). Both are read by a new request after its one cache round trip
(no SQL). The set checks 4 stored slugs and builds 4 instances where the single registry
checks and builds 1, so its cost is bounded against the single read by that work: at most
``SET_TARGET_RATIO`` times it. ``make bench`` prints the ratio.
"""

from __future__ import annotations

from typing import Any

import pytest

from conditions import Flag, Permission, Setting
from conditions import cache as switchyard_cache
from engine import Reason, Registry, Strategy, StrategyNamespace
from engine.storage.writes import write_selection
from tests.benchmarks.test_engine_benchmark import (
    COUNT,
    KEY,
    CountingCache,
    _best_seconds,
    after_round_trip,
    fresh_namespace,
    scenario,
)
from tests.transactions import committed

__all__ = ["scenario"]  # the engine benchmark's fixture, used here too

SET_KEY = "bench_channels"
# Available in the scenario (s00, s06: permission and setting; s04, s08: their flag is on).
STORED_SET = ("s06", "s00", "s04", "s08")
MANDATORY = ("s00",)
SET_TARGET_RATIO = 8
ROUNDS = 5000


def define_set(tenant: Any) -> list[type[Strategy]]:
    """The set registry over the scenario's 20 conditions, with its stored set committed."""

    class BenchChannels(Registry):
        key = SET_KEY
        multiple = True
        mandatory = MANDATORY

    classes = [
        type(
            f"BenchChannel{i:02}",
            (Strategy,),
            {
                "registry": BenchChannels,
                "slug": f"s{i:02}",
                "priority": i,
                "condition": (
                    (Permission(f"auth.bench_p{i}") & Setting(f"BENCH_S{i}")) | Flag(f"bench_f{i}")
                ),
            },
        )
        for i in range(COUNT)
    ]
    with committed():
        write_selection(SET_KEY, list(STORED_SET), via="api", tenant=tenant)
    switchyard_cache.cache().clear()
    return classes


def test_warm_set_read_against_a_single_one(
    scenario: dict[str, Any],
    benchmark: Any,
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    define_set(scenario["request"].tenant)
    warm = fresh_namespace(scenario)
    assert [s.slug for s in warm.bench_channels] == list(STORED_SET)
    assert warm.resolution(SET_KEY).reason is Reason.TENANT_SELECTION

    counting = CountingCache(monkeypatch)
    with django_assert_num_queries(0):
        namespace = fresh_namespace(scenario)
        namespace.bench_channels  # noqa: B018
        namespace.bench_payments  # noqa: B018
        namespace.explain(SET_KEY)
    assert counting.calls == ["get_many"]  # one round trip for the set and the single read
    monkeypatch.undo()

    def read_set(namespace: StrategyNamespace) -> tuple[Strategy, ...]:
        return namespace.bench_channels  # type: ignore[no-any-return]

    result = benchmark.pedantic(read_set, setup=lambda: after_round_trip(scenario), rounds=ROUNDS)
    assert [s.slug for s in result] == list(STORED_SET)
    if benchmark.disabled:
        return

    def warmed() -> StrategyNamespace:
        return after_round_trip(scenario)[0][0]

    ready = [warmed() for _ in range(2)]

    def single() -> Any:
        namespace = ready[0]
        namespace._resolutions.clear()  # resolve again, inputs already loaded
        return namespace.bench_payments

    def multiple() -> Any:
        namespace = ready[1]
        namespace._resolutions.clear()
        return namespace.bench_channels

    single_seconds, set_seconds = _best_seconds(single, multiple)
    ratio = set_seconds / single_seconds
    print(
        f"\nsets: warm request.strategy.{SET_KEY} (a stored set of {len(STORED_SET)} of 20, "
        f"{len(MANDATORY)} mandatory) {set_seconds * 1e6:.1f} us; request.strategy.{KEY} "
        f"(one of 20) {single_seconds * 1e6:.1f} us; ratio {ratio:.1f}x "
        f"(target <= {SET_TARGET_RATIO}x); median set read with a new request "
        f"{benchmark.stats.stats.median * 1e6:.1f} us"
    )
    assert ratio <= SET_TARGET_RATIO
