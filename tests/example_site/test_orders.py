"""example_site/orders.py: an order priced, charged and announced by the strategies in force."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from engine import register
from engine.testing import override_strategy
from example_site import orders
from example_site.catalogue import get_product
from example_site.models import Order, OutboxMessage
from example_site.registries.notifications import Email
from example_site.registries.payments import PaymentGateways
from tenants.models import Tenant
from tests.example_site.sites import namespace, user


def test_an_order_uses_the_tenants_pricing_gateway_and_channel(
    demo: dict[str, Tenant], django_capture_on_commit_callbacks: Any
) -> None:
    initech = demo["initech"]  # per-seat pricing and invoices, chosen by its owner
    strategies = namespace(initech, "owner")
    with tenant_context(initech), django_capture_on_commit_callbacks(execute=True):
        order = orders.place_order(
            strategies, get_product("support"), 3, placed_by=user(initech, "owner")
        )
        stored = Order.objects.get(pk=order.pk)
        messages = list(OutboxMessage.objects.filter(order=order).order_by("channel"))
    assert stored.pricing == "per_seat"
    assert stored.price_lines == [["3 x Priority support, 2 seats at 25.00", 15000]]
    assert (stored.total_cents, stored.payment_method, stored.payment_status) == (
        15000,
        "invoice",
        "invoiced",
    )
    assert stored.payment_reference == f"INV-{stored.placed_at:%Y}-{stored.pk:05d}"
    assert stored.receipt == "Invoiced 150.00, due in 30 days"
    assert stored.due_on is not None
    # Initech's set: e-mail (mandatory) and its configured webhook.
    assert [(message.channel, message.recipient) for message in messages] == [
        ("email", "orders@initech.example.com"),
        ("webhook", "https://initech.example.com/hooks/orders"),
    ]
    assert [sent.subject for sent in mail.outbox] == [f"New order {order.number}"]


def test_the_quote_is_the_pricing_rule_in_force(demo: dict[str, Tenant]) -> None:
    product = get_product("analytics")
    assert orders.quote(namespace(demo["globex"]), product, 12).total_cents == 52920  # -10 %
    assert orders.quote(namespace(demo["acme"]), product, 12).total_cents == 58800


def test_a_failing_step_leaves_nothing_behind(
    demo: dict[str, Tenant],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def unreachable(self: Email, order: Order) -> OutboxMessage:
        self.record(order, "half written")
        raise ConnectionError("mail relay unreachable")

    monkeypatch.setattr(Email, "notify", unreachable)
    acme = demo["acme"]
    with tenant_context(acme):
        before = (Order.objects.count(), OutboxMessage.objects.count())
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(ConnectionError),
        ):
            orders.place_order(namespace(acme), get_product("storage"), 1)
        assert (Order.objects.count(), OutboxMessage.objects.count()) == before
    assert mail.outbox == []


def test_imported_orders_can_skip_the_announcement(demo: dict[str, Tenant]) -> None:
    acme = demo["acme"]
    with tenant_context(acme):
        order = orders.place_order(namespace(acme), get_product("storage"), 2, notify=False)
        assert not order.notifications.exists()
    assert order.payment_status == "paid"


def test_a_registered_class_that_is_no_gateway_is_a_clear_error(
    demo: dict[str, Tenant], switchyard_isolated_registries: None
) -> None:
    @register(PaymentGateways, slug="cash")
    class Cash:
        def __init__(self, context: Any) -> None:
            self.context = context

    with (
        override_strategy("payments", "cash"),
        pytest.raises(TypeError, match=r"'payments' strategy in force is .* not a PaymentGateway"),
    ):
        orders.gateway(namespace(demo["acme"]))
