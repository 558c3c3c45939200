"""Strategies: declarative attributes, validation at class creation, register() decorator."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod

import pytest

from conditions import Always, Context
from engine import RegistrationError, Registry, Strategy, register
from tests.engine.core_support import Fixed

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


@pytest.fixture
def shipping() -> type[Registry]:
    class Shipping(Registry):
        key = "shipping"

    return Shipping


def test_defaults_of_a_strategy(shipping: type[Registry]) -> None:
    class CargoBoat(Strategy):
        """Slow but cheap.

        Takes weeks."""

        registry = shipping
        slug = "cargo_boat"

    assert CargoBoat.label == "Cargo boat"
    assert CargoBoat.description == "Slow but cheap.\n\nTakes weeks."
    assert CargoBoat.priority == 100
    assert CargoBoat.condition == Always()
    assert CargoBoat.icon == ""
    assert shipping.get("cargo_boat") is CargoBoat


def test_an_intermediate_base_is_not_registered_and_subclasses_are(
    shipping: type[Registry],
) -> None:
    class Shipper(Strategy):
        registry = shipping

        @abstractmethod
        def ship(self) -> str: ...

    class Boat(Shipper):
        slug = "boat"

        def ship(self) -> str:
            return "by sea"

    class FastBoat(Boat):  # inherits the slug without setting its own: not registered again
        pass

    assert list(shipping) == [Boat]
    assert Boat(Context()).ship() == "by sea"
    assert FastBoat.slug == "boat"


def test_missing_abstract_method_is_an_error_naming_it(shipping: type[Registry]) -> None:
    class Shipper(Strategy):
        registry = shipping

        @abstractmethod
        def ship(self) -> str: ...

        @abstractmethod
        def track(self) -> str: ...

    with pytest.raises(RegistrationError) as raised:

        class Boat(Shipper):
            slug = "boat"

            def ship(self) -> str:
                return "by sea"

    assert "does not implement the abstract method(s) track" in str(raised.value)
    assert "Boat" in str(raised.value)
    assert len(shipping) == 0


def test_a_slug_without_a_registry_is_an_error() -> None:
    with pytest.raises(RegistrationError, match="sets slug 'boat' but no registry"):

        class Boat(Strategy):
            slug = "boat"


def test_registry_must_be_a_keyed_registry() -> None:
    with pytest.raises(RegistrationError, match="expected a Registry subclass"):

        class Boat(Strategy):
            registry = object  # type: ignore[assignment]
            slug = "boat"


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"slug": "has space"}, "expected letters, digits"),
        ({"slug": ""}, "expected letters, digits"),
        ({"slug": 5}, "expected letters, digits"),
        ({"slug": "x" * 101}, "at most 100 characters"),
        ({"slug": "ok", "priority": "high"}, "priority is 'high'; expected an integer"),
        ({"slug": "ok", "priority": True}, "expected an integer"),
        ({"slug": "ok", "condition": True}, "expected a conditions.Condition"),
        ({"slug": "ok", "label": 3}, "label is 3; expected a string"),
    ],
)
def test_invalid_attributes_are_rejected_at_class_creation(
    shipping: type[Registry], attributes: dict[str, object], expected: str
) -> None:
    with pytest.raises(RegistrationError, match=expected):
        type("Bad", (Strategy,), {"registry": shipping, **attributes})
    assert len(shipping) == 0


def test_instances_keep_their_context(shipping: type[Registry]) -> None:
    class Boat(Strategy):
        registry = shipping
        slug = "boat"

    context = Context()
    boat = Boat(context)
    assert boat.context is context
    assert repr(boat) == "<Boat 'boat'>"
    assert shipping.build(Boat, context).context is context


class OtherMeta(type):
    """A metaclass that conflicts with Strategy's."""


def test_register_decorator_for_classes_that_cannot_subclass(shipping: type[Registry]) -> None:
    @register(shipping, slug="drone", condition=Fixed("drones", True), priority=5)
    class Drone(metaclass=OtherMeta):
        """Flies small parcels."""

        def __init__(self, context: Context) -> None:
            self.context = context

    @register(shipping)
    class Pigeon(metaclass=OtherMeta):
        slug = "pigeon"

    assert list(shipping) == [Drone, Pigeon]
    assert Drone.label == "Drone" and Drone.priority == 5
    assert Drone.description == "Flies small parcels."
    assert Pigeon.condition == Always()
    assert issubclass(Drone, Strategy)
    context = Context()
    drone = shipping.build(Drone, context)
    assert isinstance(drone, Strategy) and drone.context is context
    assert isinstance(shipping.build(Pigeon, context), Pigeon)  # built without the context
    assert shipping.available(context) == [Drone, Pigeon]


def test_register_rejects_bad_input(shipping: type[Registry]) -> None:
    with pytest.raises(TypeError, match="unknown attribute"):
        register(shipping, slugg="x")
    with pytest.raises(RegistrationError, match="without a slug"):
        register(shipping)(type("NoSlug", (), {}))

    class NeedsTwo:
        slug = "two"

        def __init__(self, a: int, b: int) -> None: ...

    with pytest.raises(RegistrationError, match="constructor must accept the context"):
        register(shipping)(NeedsTwo)

    class Abstract(metaclass=ABCMeta):
        slug = "abstract"

        @abstractmethod
        def ship(self) -> None: ...

    with pytest.raises(RegistrationError, match="abstract method"):
        register(shipping)(Abstract)
    assert len(shipping) == 0


def test_is_available_asks_the_condition(shipping: type[Registry]) -> None:
    class Boat(Strategy):
        registry = shipping
        slug = "boat"
        condition = Fixed("sea", True)

    class Air(Strategy):
        registry = shipping
        slug = "air"
        condition = Fixed("sky", False)

    context = Context()
    assert Boat.is_available(context) is True
    assert Air.is_available(context) is False
