"""What the demo sells: a few add-ons with a list price and a per-seat price, in cents."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from conditions.naming import suggestion


@dataclass(frozen=True)
class Product:
    """An add-on a tenant can order: ``price_cents`` per unit, ``seat_price_cents`` per seat."""

    slug: str
    name: str
    price_cents: int
    seat_price_cents: int


PRODUCTS = (
    Product("analytics", "Analytics add-on", 4900, 900),
    Product("support", "Priority support", 12000, 2500),
    Product("storage", "Extra storage (100 GB)", 1500, 300),
)


def get_product(slug: str) -> Product:
    """Return the product ``slug``; a ``ValidationError`` names the closest one otherwise."""
    for product in PRODUCTS:
        if product.slug == slug:
            return product
    known = [product.slug for product in PRODUCTS]
    raise ValidationError(
        "Unknown product %(slug)s.%(suggestion)s Choose one of: %(known)s.",
        code="unknown_product",
        params={
            "slug": repr(slug),
            "suggestion": suggestion(slug, known),
            "known": ", ".join(known),
        },
    )


def money(cents: int) -> str:
    """Format an amount in cents as ``1,234.50`` (negative amounts keep their sign)."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d}"


def decimal(cents: int) -> Decimal:
    """Return an amount in cents as a ``Decimal`` with two places (for exports)."""
    return Decimal(cents).scaleb(-2).quantize(Decimal("0.01"))
