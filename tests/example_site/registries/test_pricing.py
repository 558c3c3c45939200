"""example_site/registries/pricing.py: what each rule charges, and for which plans."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from conditions import Context
from example_site.catalogue import Product, get_product
from example_site.registries.pricing import Flat, PerSeat, PricingRules, Quote, Volume
from tenants.models import Tenant

ODD = Product("odd", "Odd widget", 333, 111)


def test_the_registry_offers_the_list_price_by_default() -> None:
    assert PricingRules.key == "pricing"
    assert PricingRules.default == "flat"
    assert PricingRules.slugs() == ("flat", "volume", "per_seat")


def test_flat_is_the_list_price_per_unit() -> None:
    quote = Flat(Context()).quote(get_product("analytics"), 3)
    assert quote == Quote("flat", (("3 x Analytics add-on at 49.00", 14700),))
    assert (quote.total_cents, quote.total_display) == (14700, "147.00")
    assert str(quote) == "3 x Analytics add-on at 49.00: 147.00 = 147.00"


@pytest.mark.parametrize(
    ("quantity", "discount"),
    [
        (9, None),
        (10, ("Volume discount 10 % (10+ units)", -333)),
        (25, ("Volume discount 20 % (25+ units)", -1665)),
    ],
)
def test_volume_discounts_from_ten_and_twenty_five_units(
    quantity: int, discount: tuple[str, int] | None
) -> None:
    quote = Volume(Context()).quote(ODD, quantity)
    assert quote.lines[0] == (f"{quantity} x Odd widget at 3.33", quantity * 333)
    assert quote.lines[1:] == ((discount,) if discount else ())


def test_a_fractional_discount_is_rounded_in_the_customers_favour() -> None:
    quote = Volume(Context()).quote(ODD, 11)  # 10 % of 36.63 is 3.663
    assert quote.lines[1][1] == -366
    assert quote.total_cents == 3297


def test_per_seat_counts_the_tenants_active_users(enterprise_tenant: Tenant) -> None:
    rule = PerSeat(Context(tenant=enterprise_tenant))
    with tenant_context(enterprise_tenant):
        assert rule.seats() == 1  # nobody yet: one seat, not a free order
        User = get_user_model()
        for name in ("ann", "bob", "cy"):
            User.objects.create_user(name)
        User.objects.create_user("gone", is_active=False)
        quote = rule.quote(ODD, 2)
    assert quote.lines == (("2 x Odd widget, 3 seats at 1.11", 666),)


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "2"])
def test_a_quantity_is_a_whole_number_of_at_least_one(quantity: object) -> None:
    with pytest.raises(ValueError, match="quantity must be a whole number of at least 1"):
        Flat(Context()).quote(ODD, quantity)  # type: ignore[arg-type]


def test_rules_follow_the_plan(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    offered = {
        tenant.plan: PricingRules.choices(Context(tenant=tenant))
        for tenant in (free_tenant, pro_tenant, enterprise_tenant)
    }
    assert offered == {
        "free": [("flat", "List price")],
        "pro": [("flat", "List price"), ("volume", "Volume discount")],
        "enterprise": [
            ("flat", "List price"),
            ("volume", "Volume discount"),
            ("per_seat", "Per seat"),
        ],
    }
