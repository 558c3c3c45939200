"""Fields benchmark: reading ``StrategyField`` / ``MultipleStrategyField`` attributes.

A list page reads the strategy of every row, so the descriptor is a hot path. Compared, in the
same run and measured the same way (best of 25 repeats), with the floor in plain Python:
reading the slug from a plain attribute and looking it up in a dict of classes. Targets: a
single field read at most 10x the floor (about 0.4 us: a deferred-field check, the registry
looked up by key, the slug looked up in it); a three-slug list at most 6x its floor.
``make bench`` prints the numbers.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from tests.engine.surfaces_app.models import Parcel
from tests.engine.surfaces_app.strategies import Alerts, Couriers, Express

SINGLE_TARGET_RATIO = 10
MULTIPLE_TARGET_RATIO = 6
ROUNDS = 5000


def _best_seconds(function: Callable[[], Any]) -> float:
    """Seconds per call of ``function``: the best of many repeats (robust on a busy machine)."""
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=25, number=number)) / number


class Plain:
    """A row with its slugs in plain attributes."""

    def __init__(self) -> None:
        self.courier = "express"
        self.alerts = ["email", "sms", "email"]


def test_reading_a_strategy_field(benchmark: Any) -> None:
    parcel = Parcel(name="box", courier="express")
    by_slug = {strategy.slug: strategy for strategy in Couriers.strategies()}
    plain = Plain()

    def floor() -> Any:
        return by_slug.get(plain.courier)

    def read() -> Any:
        return parcel.courier

    result = benchmark.pedantic(read, rounds=ROUNDS, iterations=10)
    assert result is Express is floor()
    if benchmark.disabled:
        return
    ours = _best_seconds(read)  # measured like the floor, in the same run
    floor_seconds = _best_seconds(floor)
    ratio = ours / floor_seconds
    print(
        f"\nStrategyField read: {ours * 1e9:.0f} ns; plain Python floor "
        f"{floor_seconds * 1e9:.0f} ns (ratio {ratio:.1f}x, target <= {SINGLE_TARGET_RATIO}x)"
    )
    assert ratio <= SINGLE_TARGET_RATIO


def test_reading_a_multiple_strategy_field(benchmark: Any) -> None:
    parcel = Parcel(name="box", alerts=["email", "sms", "pager"])
    by_slug = {strategy.slug: strategy for strategy in Alerts.strategies()}
    plain = Plain()

    def floor() -> Any:
        return tuple(by_slug.get(slug) for slug in plain.alerts)

    def read() -> Any:
        return parcel.alerts

    result = benchmark.pedantic(read, rounds=ROUNDS, iterations=10)
    assert [strategy.slug for strategy in result] == ["email", "sms", "pager"]
    if benchmark.disabled:
        return
    ours = _best_seconds(read)  # measured like the floor, in the same run
    floor_seconds = _best_seconds(floor)
    ratio = ours / floor_seconds
    print(
        f"\nMultipleStrategyField read (3 slugs): {ours * 1e9:.0f} ns; plain Python floor "
        f"{floor_seconds * 1e9:.0f} ns (ratio {ratio:.1f}x, target <= {MULTIPLE_TARGET_RATIO}x)"
    )
    assert ratio <= MULTIPLE_TARGET_RATIO
