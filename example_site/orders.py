"""Placing an order: priced, charged and announced by the strategies in force for the request."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import transaction

from engine import StrategyNamespace
from example_site.catalogue import Product
from example_site.models import Order
from example_site.registries.exports import Exporter
from example_site.registries.notifications import Notifier
from example_site.registries.payments import PaymentGateway
from example_site.registries.pricing import PricingRule, Quote

T = TypeVar("T")


def _in_force(strategies: StrategyNamespace, key: str, interface: type[T]) -> T:
    found = strategies.get(key)
    if not isinstance(found, interface):
        # Only a strategy registered with register() outside the base class can get here.
        raise TypeError(
            f"The {key!r} strategy in force is {found!r}, which is not a {interface.__name__}."
        )
    return found


def pricing(strategies: StrategyNamespace) -> PricingRule:
    """Return the pricing rule in force."""
    return _in_force(strategies, "pricing", PricingRule)


def gateway(strategies: StrategyNamespace) -> PaymentGateway:
    """Return the payment gateway in force."""
    return _in_force(strategies, "payments", PaymentGateway)


def notifiers(strategies: StrategyNamespace) -> tuple[Notifier, ...]:
    """Return the notification channels in force (a set: e-mail and the tenant's others)."""
    found = strategies.get("notifications")
    for channel in found:
        if not isinstance(channel, Notifier):
            raise TypeError(f"The notification channel {channel!r} is not a Notifier.")
    return tuple(found)


def exporter(strategies: StrategyNamespace) -> Exporter:
    """Return the export format in force."""
    return _in_force(strategies, "exports", Exporter)


def quote(strategies: StrategyNamespace, product: Product, quantity: int) -> Quote:
    """Return what ``quantity`` x ``product`` costs under the pricing rule in force."""
    return pricing(strategies).quote(product, quantity)


def place_order(
    strategies: StrategyNamespace,
    product: Product,
    quantity: int,
    *,
    placed_by: Any = None,
    notify: bool = True,
) -> Order:
    """Price, save, charge and announce an order in one transaction; return it.

    ``strategies`` is ``request.strategy`` (or a ``StrategyNamespace`` built for a tenant in
    a job): the pricing rule, payment gateway and notification channels in force are used.
    ``notify=False`` skips the announcement (imported history). If any step fails, nothing
    is stored and no e-mail is sent.
    """
    price = quote(strategies, product, quantity)
    payments = gateway(strategies)
    channels = notifiers(strategies) if notify else ()
    with transaction.atomic():
        order = Order.objects.create(
            product=product.slug,
            product_name=product.name,
            quantity=quantity,
            total_cents=price.total_cents,
            pricing=price.rule,
            price_lines=[[text, cents] for text, cents in price.lines],
            placed_by=placed_by,
        )
        receipt = payments.pay(order)
        order.payment_method = receipt.gateway
        order.payment_reference = receipt.reference
        order.payment_status = receipt.status
        order.receipt = receipt.text
        order.due_on = receipt.due_on
        order.save(
            update_fields=[
                "payment_method",
                "payment_reference",
                "payment_status",
                "receipt",
                "due_on",
            ]
        )
        for channel in channels:
            channel.notify(order)
    return order
