"""Registries: registration, ordering, lookup with suggestions, duplicates, thread safety."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from conditions import Context
from engine import (
    RegistrationError,
    Registry,
    Strategy,
    UnknownRegistry,
    UnknownStrategy,
    get_registry,
    registries,
)
from tests.engine.core_support import Fixed

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


def make_registry(key: str = "shipping", **attributes: object) -> type[Registry]:
    return type("Shipping", (Registry,), {"key": key, "__doc__": "How orders ship.", **attributes})


def make_strategy(registry: type[Registry], slug: str, **attributes: object) -> type[Strategy]:
    return type(slug.title(), (Strategy,), {"registry": registry, "slug": slug, **attributes})


def test_a_registry_with_a_key_is_registered_and_a_base_without_one_is_not() -> None:
    class Base(Registry):
        user_selectable = True

    class Shipping(Base):
        key = "shipping"

    assert registries()["shipping"] is Shipping
    assert get_registry("shipping") is Shipping
    assert get_registry(Shipping) is Shipping
    assert Base not in registries().values()
    assert Shipping.user_selectable is True
    assert Shipping.label == "Shipping"
    assert repr(Shipping) == "<Registry 'shipping': Shipping>"


def test_strategies_iterate_by_priority_then_slug() -> None:
    shipping = make_registry()
    make_strategy(shipping, "zeppelin", priority=1)
    make_strategy(shipping, "boat")
    make_strategy(shipping, "air")
    make_strategy(shipping, "truck", priority=50)
    assert [s.slug for s in shipping] == ["zeppelin", "truck", "air", "boat"]
    assert shipping.slugs() == ("zeppelin", "truck", "air", "boat")
    assert len(shipping) == 4


def test_membership_by_slug_or_class() -> None:
    shipping, other = make_registry(), make_registry("other")
    boat = make_strategy(shipping, "boat")
    foreign = make_strategy(other, "boat")
    assert "boat" in shipping
    assert boat in shipping
    assert foreign not in shipping
    assert "plane" not in shipping
    assert 3 not in shipping


def test_get_returns_the_class_and_an_unknown_slug_suggests_the_closest() -> None:
    shipping = make_registry()
    boat = make_strategy(shipping, "boat")
    make_strategy(shipping, "truck")
    assert shipping.get("boat") is boat
    with pytest.raises(UnknownStrategy) as raised:
        shipping.get("boot")
    message = str(raised.value)
    assert "Unknown strategy 'boot' in 'shipping'." in message
    assert "Did you mean 'boat'?" in message
    assert "Known strategies: 'boat', 'truck'." in message
    assert isinstance(raised.value, KeyError)


def test_unknown_registry_is_an_attribute_and_key_error_with_a_suggestion() -> None:
    make_registry()
    with pytest.raises(UnknownRegistry) as raised:
        get_registry("shiping")
    assert "No registry has the key 'shiping'. Did you mean 'shipping'?" in str(raised.value)
    assert isinstance(raised.value, AttributeError)
    assert isinstance(raised.value, KeyError)


def test_available_and_choices_follow_the_conditions() -> None:
    shipping = make_registry()
    boat = make_strategy(shipping, "boat", label="By boat", condition=Fixed("sea", True))
    make_strategy(shipping, "air", condition=Fixed("sky", False))
    truck = make_strategy(shipping, "truck", priority=1)
    context = Context()
    assert shipping.available(context) == [truck, boat]
    assert shipping.choices(context) == [("truck", "Truck"), ("boat", "By boat")]
    assert shipping.choices() == [("truck", "Truck"), ("air", "Air"), ("boat", "By boat")]


def test_duplicate_slug_names_both_classes() -> None:
    shipping = make_registry()

    class Boat(Strategy):
        registry = shipping
        slug = "boat"

    with pytest.raises(RegistrationError) as raised:

        class Ship(Strategy):
            registry = shipping
            slug = "boat"

    message = str(raised.value)
    assert "Strategy slug 'boat' of registry 'shipping' is taken by" in message
    assert "<locals>.Boat;" in message and "<locals>.Ship needs another slug" in message
    assert list(shipping) == [Boat]


def test_duplicate_registry_key_names_both_classes() -> None:
    class First(Registry):
        key = "shipping"

    with pytest.raises(RegistrationError) as raised:

        class Second(Registry):
            key = "shipping"

    message = str(raised.value)
    assert "Registry key 'shipping' is taken by" in message
    assert "First" in message and "Second" in message
    assert registries()["shipping"] is First


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("not valid", "expected a Python identifier"),
        ("_private", "expected a Python identifier"),
        ("class", "expected a Python identifier"),
        (3, "expected a Python identifier"),
        ("x" * 101, "at most 100 characters"),
        ("available", "would shadow request.strategy.available"),
        ("explain", "would shadow request.strategy.explain"),
    ],
)
def test_invalid_keys_are_rejected_with_what_was_expected(key: object, expected: str) -> None:
    before = dict(registries())
    with pytest.raises(RegistrationError, match=expected):
        make_registry(key)  # type: ignore[arg-type]
    assert dict(registries()) == before


def test_default_must_be_a_slug_or_none() -> None:
    with pytest.raises(RegistrationError, match="expected a strategy slug or None"):
        make_registry(default=3)


def test_a_registry_has_no_instances() -> None:
    shipping = make_registry()
    with pytest.raises(TypeError, match="is a registry, used as a class"):
        shipping()


def test_reimporting_a_module_replaces_its_classes(tmp_path: Path) -> None:
    source = """
from engine import Registry, Strategy

class Freight(Registry):
    key = "freight_reload"

class Rail(Strategy):
    registry = Freight
    slug = "rail"
"""
    (tmp_path / "reloaded_strategies.py").write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("reloaded_strategies")
        first = module.Freight
        module = importlib.reload(module)  # what an autoreloading dev server does
        assert registries()["freight_reload"] is module.Freight is not first
        assert module.Freight.get("rail") is module.Rail
        assert [s.slug for s in module.Freight] == ["rail"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("reloaded_strategies", None)


def test_a_redefined_strategy_of_the_same_qualified_name_replaces_the_old_one() -> None:
    shipping = make_registry()

    def define() -> type[Strategy]:
        class Boat(Strategy):
            registry = shipping
            slug = "boat"

        return Boat

    define()
    second = define()
    assert list(shipping) == [second]


@pytest.fixture
def many_threads() -> Iterator[int]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to provoke races
    yield 16
    sys.setswitchinterval(interval)


def test_concurrent_registration_loses_nothing_and_readers_see_whole_states(
    many_threads: int,
) -> None:
    shipping = make_registry()
    per_thread = 40
    torn: list[str] = []
    done = threading.Event()

    def write(thread: int) -> None:
        for index in range(per_thread):
            make_strategy(shipping, f"s{thread}-{index}", priority=index % 7)

    def read() -> None:
        while not done.is_set():
            members = shipping._members
            if len(members.ordered) != len(members.by_slug):
                torn.append("ordered and by_slug disagree")
            keys = [(s.priority, s.slug) for s in members.ordered]
            if keys != sorted(keys):
                torn.append("not ordered")

    readers = [threading.Thread(target=read) for _ in range(4)]
    writers = [threading.Thread(target=write, args=(n,)) for n in range(many_threads)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in readers:
        thread.join()
    assert torn == []
    assert len(shipping) == many_threads * per_thread
