"""Pricing: how much an order costs the tenant (flat, volume discount, per seat)."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from django.contrib.auth import get_user_model

from engine import Registry, Strategy
from example_site.catalogue import Product, money
from tenants.conditions import Plan, PlanAtLeast


@dataclass(frozen=True)
class Quote:
    """The price of an order: its lines as ``(text, cents)`` and their total."""

    rule: str
    lines: tuple[tuple[str, int], ...]

    @property
    def total_cents(self) -> int:
        return sum(cents for _, cents in self.lines)

    @property
    def total_display(self) -> str:
        return money(self.total_cents)

    def display_lines(self) -> list[tuple[str, str]]:
        """Return the lines with formatted amounts, for templates."""
        return [(text, money(cents)) for text, cents in self.lines]

    def __str__(self) -> str:
        parts = "; ".join(f"{text}: {money(cents)}" for text, cents in self.lines)
        return f"{parts} = {money(self.total_cents)}"


class PricingRules(Registry):
    """How a tenant's orders are priced."""

    key = "pricing"
    default = "flat"


class PricingRule(Strategy):
    """Prices an order of ``quantity`` units of a product."""

    registry = PricingRules

    @abstractmethod
    def quote(self, product: Product, quantity: int) -> Quote:
        """Return the price of ``quantity`` x ``product`` (quantity is at least 1)."""

    def _check(self, quantity: int) -> None:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"quantity must be a whole number of at least 1, got {quantity!r}")


class Flat(PricingRule):
    """The list price for every unit."""

    slug = "flat"
    label = "List price"
    priority = 10

    def quote(self, product: Product, quantity: int) -> Quote:
        self._check(quantity)
        text = f"{quantity} x {product.name} at {money(product.price_cents)}"
        return Quote(self.slug, ((text, quantity * product.price_cents),))


class Volume(PricingRule):
    """The list price, less 10 % from 10 units and 20 % from 25 units."""

    slug = "volume"
    label = "Volume discount"
    priority = 20
    condition = PlanAtLeast("pro")
    # (from this many units, percent off), largest first.
    tiers: ClassVar[tuple[tuple[int, int], ...]] = ((25, 20), (10, 10))

    def quote(self, product: Product, quantity: int) -> Quote:
        self._check(quantity)
        gross = quantity * product.price_cents
        lines = [(f"{quantity} x {product.name} at {money(product.price_cents)}", gross)]
        for threshold, percent in self.tiers:
            if quantity >= threshold:
                # Round the discount half down: the customer never pays a fraction more.
                lines.append(
                    (f"Volume discount {percent} % ({threshold}+ units)", -(gross * percent // 100))
                )
                break
        return Quote(self.slug, tuple(lines))


class PerSeat(PricingRule):
    """The per-seat price for each active user of the tenant, per unit."""

    slug = "per_seat"
    label = "Per seat"
    priority = 30
    condition = Plan("enterprise")

    def seats(self) -> int:
        """Return the tenant's active users (at least 1): its schema is the connection's."""
        return max(get_user_model().objects.filter(is_active=True).count(), 1)

    def quote(self, product: Product, quantity: int) -> Quote:
        self._check(quantity)
        seats = self.seats()
        text = (
            f"{quantity} x {product.name}, {seats} seat{'s' if seats != 1 else ''} "
            f"at {money(product.seat_price_cents)}"
        )
        return Quote(self.slug, ((text, quantity * seats * product.seat_price_cents),))
