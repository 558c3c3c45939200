"""Test helpers: override_strategy / override_condition in every form, with no database."""

from __future__ import annotations

import asyncio
import threading
import unittest

import pytest

from conditions import Context
from engine import Reason, Registry, Strategy, UnknownRegistry, UnknownStrategy, registries
from engine.testing import (
    Overrides,
    isolated_registries,
    override_condition,
    override_strategy,
    strategy_class,
)
from tests.engine.core_support import Fixed

# No test here touches the database: pytest-django would refuse it (no `db` fixture).


class Shipping(Registry):
    key = "shipping_testing"


class Boat(Strategy):
    registry = Shipping
    slug = "boat"
    priority = 1


class Drone(Strategy):
    registry = Shipping
    slug = "drone"
    condition = Fixed("drones", False)


def resolve() -> tuple[str, Reason]:
    resolution = Shipping.resolve(Context())
    return resolution.slug, resolution.reason


def available() -> list[str]:
    return [strategy.slug for strategy in Shipping.available(Context())]


def test_override_strategy_as_context_manager_needs_no_database() -> None:
    with override_strategy("shipping_testing", "drone"):
        assert resolve() == ("drone", Reason.OVERRIDDEN)
        resolution = Shipping.resolve(Context())
        assert isinstance(resolution.strategy, Drone)
    assert available() == ["boat"]


def test_override_strategy_takes_a_strategy_class_or_a_registry_class() -> None:
    with override_strategy(Drone):
        assert resolve() == ("drone", Reason.OVERRIDDEN)
    with override_strategy(Shipping, "boat"):
        assert resolve() == ("boat", Reason.OVERRIDDEN)


def test_overrides_nest_and_unwind() -> None:
    with override_strategy(Drone):
        with override_strategy(Boat):
            assert resolve()[0] == "boat"
        assert resolve()[0] == "drone"


@override_strategy("shipping_testing", "drone")
def test_override_strategy_as_function_decorator() -> None:
    assert resolve() == ("drone", Reason.OVERRIDDEN)


def test_override_strategy_on_an_async_function() -> None:
    @override_strategy(Drone)
    async def view() -> tuple[str, Reason]:
        await asyncio.sleep(0)
        return resolve()

    assert asyncio.run(view()) == ("drone", Reason.OVERRIDDEN)


@override_strategy(Drone)
class TestPlainClassDecorated:
    def test_each_method_is_overridden(self) -> None:
        assert resolve()[0] == "drone"

    def helper_is_left_alone(self) -> None: ...


@override_condition(Drone, True)
class UnittestClassDecorated(unittest.TestCase):
    def test_condition_forced_in_each_test(self) -> None:
        assert available() == ["boat", "drone"]


def test_unittest_class_decoration_is_undone_after_each_test() -> None:
    result = unittest.TestResult()
    UnittestClassDecorated("test_condition_forced_in_each_test").run(result)
    assert result.wasSuccessful(), result.failures + result.errors
    assert available() == ["boat"]


def test_override_condition_with_a_bool_a_condition_or_a_name() -> None:
    with override_condition(Drone, True):
        assert available() == ["boat", "drone"]
    with override_condition(Boat, condition=Fixed("never", False)):
        assert available() == []
    with override_condition("shipping_testing.drone", "shipping_testing:boat", True):
        assert available() == ["boat", "drone"]
    assert available() == ["boat"]


def test_fixture_undoes_its_overrides(switchyard_override: Overrides) -> None:
    switchyard_override.strategy("shipping_testing", "drone")
    switchyard_override.condition(Boat, False)
    assert resolve() == ("drone", Reason.OVERRIDDEN)
    assert available() == []
    switchyard_override.undo()
    assert available() == ["boat"]


def test_overrides_do_not_leak_into_other_threads() -> None:
    seen: list[list[str]] = []
    with override_condition(Drone, True):
        thread = threading.Thread(target=lambda: seen.append(available()))
        thread.start()
        thread.join()
        assert available() == ["boat", "drone"]
    assert seen == [["boat"]]


def test_bad_targets_are_clear_errors() -> None:
    with pytest.raises(UnknownRegistry, match="Did you mean 'shipping_testing'"):
        override_strategy("shiping_testing", "boat").enable()
    with pytest.raises(UnknownStrategy, match="Did you mean 'boat'"):
        override_strategy("shipping_testing", "bot").enable()
    with pytest.raises(TypeError, match="needs the slug"):
        override_strategy("shipping_testing").enable()
    with pytest.raises(TypeError, match="takes no slug"):
        override_strategy(Boat, "boat").enable()
    with pytest.raises(ValueError, match=r"expected a Strategy class or 'registry_key\.slug'"):
        strategy_class("boat")
    with pytest.raises(TypeError, match="needs the condition"):
        override_condition(Boat)
    with pytest.raises(TypeError, match="expected a Condition or bool"):
        override_condition(Boat, condition="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one strategy"):
        override_condition(True)
    assert available() == ["boat"]  # nothing was left enabled


def test_isolated_registries_forgets_what_the_block_defined() -> None:
    with isolated_registries():

        class Temporary(Registry):
            key = "temporary_testing"

        class Extra(Strategy):
            registry = Shipping
            slug = "extra"

        assert "temporary_testing" in registries()
        assert "extra" in Shipping
    assert "temporary_testing" not in registries()
    assert "extra" not in Shipping
