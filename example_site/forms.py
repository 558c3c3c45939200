"""The demo's own form: what to order at checkout."""

from __future__ import annotations

from typing import Any

from django import forms

from example_site.catalogue import PRODUCTS, Product, get_product, money

MAX_QUANTITY = 1000


def _product_choices() -> list[tuple[str, str]]:
    return [
        (
            product.slug,
            f"{product.name} — {money(product.price_cents)} per unit, "
            f"{money(product.seat_price_cents)} per seat",
        )
        for product in PRODUCTS
    ]


class CheckoutForm(forms.Form):
    """A product of the catalogue and a quantity (1 to 1000)."""

    product = forms.ChoiceField(choices=_product_choices, widget=forms.RadioSelect)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)

    def clean_product(self) -> Product:
        return get_product(self.cleaned_data["product"])

    def order(self) -> tuple[Product, int]:
        """Return the cleaned ``(product, quantity)``."""
        data: dict[str, Any] = self.cleaned_data
        return data["product"], data["quantity"]
