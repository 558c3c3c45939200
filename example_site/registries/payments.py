"""Payments: how a tenant takes the money for an order (card, invoice, crypto)."""

from __future__ import annotations

import hashlib
import hmac
from abc import abstractmethod
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, ClassVar

from django import forms
from django.core.exceptions import ValidationError

from conditions import Context, Flag, Permission, Setting
from engine import Registry, SecretField, Strategy, StrategyConfig
from example_site.catalogue import money
from tenants.conditions import Plan

if TYPE_CHECKING:
    from example_site.models import Order

INVOICE_TERMS_DAYS = 30


@dataclass(frozen=True)
class Receipt:
    """A gateway's answer for an order: reference, resulting status, receipt line, due date."""

    gateway: str
    reference: str
    status: str
    text: str
    due_on: date | None = None


class PaymentGateways(Registry):
    """How a tenant takes payments."""

    key = "payments"
    default = "card"


class PaymentGateway(Strategy):
    """Takes the payment of an order; one subclass per gateway."""

    registry = PaymentGateways
    # The Order.Status an order has once this gateway took it.
    status: ClassVar[str] = "paid"

    @abstractmethod
    def charge(self, amount_cents: int) -> str:
        """Take ``amount_cents`` and return a receipt line."""

    @abstractmethod
    def reference(self, order: Order) -> str:
        """Return the gateway's reference for ``order`` (a saved order)."""

    def due_on(self, order: Order) -> date | None:
        """Return when the money is due, or None when it was taken at once."""
        return None

    def pay(self, order: Order) -> Receipt:
        """Take the payment of ``order`` (saved, with its total) and return the receipt."""
        return Receipt(
            gateway=self.slug,
            reference=self.reference(order),
            status=self.status,
            text=self.charge(order.total_cents),
            due_on=self.due_on(order),
        )

    def _digest(self, order: Order) -> str:
        # Stable per tenant and order: the same order always gets the same reference.
        tenant = getattr(self.context, "tenant", None)
        schema = getattr(tenant, "schema_name", "public")
        return hashlib.sha256(f"{self.slug}:{schema}:{order.pk}".encode()).hexdigest()


class Card(PaymentGateway):
    """Charges the customer's credit card at once."""

    slug = "card"
    label = "Credit card"
    priority = 10

    def charge(self, amount_cents: int) -> str:
        return f"Charged {amount_cents / 100:.2f} to the card on file"

    def reference(self, order: Order) -> str:
        return f"ch_{self._digest(order)[:16]}"


class Stripe(PaymentGateway):
    """Charges cards through the tenant's own Stripe account (its keys; nothing is sent)."""

    slug = "stripe"
    label = "Card processor (Stripe)"
    priority = 15

    class Config(StrategyConfig):
        """The tenant's Stripe account: its API keys and what customers' statements say."""

        publishable_key = forms.CharField(max_length=200, help_text="Starts with pk_.")
        secret_key = SecretField(max_length=200, help_text="Starts with sk_; kept encrypted.")
        statement_descriptor = forms.CharField(max_length=22, required=False)

        def validate(self, context: Context) -> None:
            # A real integration would ask Stripe whether the key works; the demo checks shapes.
            errors = {}
            if not self.cleaned_data["publishable_key"].startswith("pk_"):
                errors["publishable_key"] = "A publishable key starts with pk_."
            if not self.cleaned_data["secret_key"].startswith("sk_"):
                errors["secret_key"] = "A secret key starts with sk_."
            if errors:
                raise ValidationError(errors)

    def charge(self, amount_cents: int) -> str:
        descriptor = self.config.statement_descriptor or "card payment"
        account = self.config.publishable_key[-4:]
        return f"Charged {amount_cents / 100:.2f} via Stripe …{account} ({descriptor})"

    def reference(self, order: Order) -> str:
        # Derived from the tenant's secret key: a reference only its account could issue.
        key = str(self.config.secret_key).encode()
        return "pi_" + hmac.new(key, self._digest(order).encode(), hashlib.sha256).hexdigest()[:24]


class Invoice(PaymentGateway):
    """Sends an invoice payable within 30 days."""

    slug = "invoice"
    label = "Invoice (net 30)"
    priority = 20
    status = "invoiced"
    condition = Plan("enterprise") | Permission("example_site.use_invoice")

    def charge(self, amount_cents: int) -> str:
        return f"Invoiced {amount_cents / 100:.2f}, due in {INVOICE_TERMS_DAYS} days"

    def reference(self, order: Order) -> str:
        return f"INV-{order.placed_at:%Y}-{order.pk:05d}"

    def due_on(self, order: Order) -> date:
        return order.placed_at.date() + timedelta(days=INVOICE_TERMS_DAYS)


class Crypto(PaymentGateway):
    """Takes a stablecoin payment (beta; off everywhere while payments are locked down)."""

    slug = "crypto"
    label = "Crypto (beta)"
    priority = 30
    status = "awaiting_payment"
    condition = Flag("crypto_beta") & ~Setting("PAYMENTS_LOCKDOWN")

    def charge(self, amount_cents: int) -> str:
        return f"Requested {amount_cents / 100:.2f} in USDC"

    def reference(self, order: Order) -> str:
        # A deposit address of its own per order, so incoming transfers match their order.
        return f"0x{self._digest(order)[:40]}"

    def pay(self, order: Order) -> Receipt:
        receipt = super().pay(order)
        text = f"{receipt.text} ({money(order.total_cents)} USDC to {receipt.reference})"
        return Receipt(receipt.gateway, receipt.reference, receipt.status, text, receipt.due_on)
