"""How the shop ships an order: found by the engine's discovery, like any app's strategies."""

from __future__ import annotations

from abc import abstractmethod

from conditions import Flag, Setting
from engine import Registry, Strategy


class ShippingMethods(Registry):
    """How an order is shipped; customers may pick their own."""

    key = "shipping"
    default = "post"
    user_selectable = True


class ShippingMethod(Strategy):
    """Ships an order; one subclass per carrier."""

    registry = ShippingMethods

    @abstractmethod
    def quote(self, grams: int) -> int:
        """Return the price in cents of shipping ``grams``."""


class Post(ShippingMethod):
    """The national post."""

    slug = "post"
    priority = 10

    def quote(self, grams: int) -> int:
        return 500 + grams // 100


class Courier(ShippingMethod):
    """Same-day courier, behind a waffle flag."""

    slug = "courier"
    priority = 20
    condition = Flag("courier")

    def quote(self, grams: int) -> int:
        return 1500


class Pickup(ShippingMethod):
    """Collected at the counter, unless the shop is closed."""

    slug = "pickup"
    priority = 30
    condition = ~Setting("SHOP_CLOSED")

    def quote(self, grams: int) -> int:
        return 0
