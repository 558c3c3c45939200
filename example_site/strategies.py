"""The demo's payments registry: how a tenant takes payments (discovered at start-up)."""

from __future__ import annotations

from abc import abstractmethod

from conditions import Flag, Permission, Setting
from engine import Registry, Strategy
from tenants.conditions import Plan


class PaymentGateways(Registry):
    """How a tenant takes payments."""

    key = "payments"
    default = "card"


class PaymentGateway(Strategy):
    """Takes the payment of an order; one subclass per gateway."""

    registry = PaymentGateways

    @abstractmethod
    def charge(self, amount_cents: int) -> str:
        """Take ``amount_cents`` and return a receipt line."""


class Card(PaymentGateway):
    """Charges the customer's credit card at once."""

    slug = "card"
    label = "Credit card"
    priority = 10
    icon = "💳"

    def charge(self, amount_cents: int) -> str:
        return f"Charged {amount_cents / 100:.2f} to the card on file"


class Invoice(PaymentGateway):
    """Sends an invoice payable within 30 days."""

    slug = "invoice"
    label = "Invoice (net 30)"
    priority = 20
    icon = "🧾"
    condition = Plan("enterprise") | Permission("billing.use_invoice")

    def charge(self, amount_cents: int) -> str:
        return f"Invoiced {amount_cents / 100:.2f}, due in 30 days"


class Crypto(PaymentGateway):
    """Takes a stablecoin payment (beta; off everywhere while payments are locked down)."""

    slug = "crypto"
    label = "Crypto (beta)"
    priority = 30
    icon = "🪙"
    condition = Flag("crypto_beta") & ~Setting("PAYMENTS_LOCKDOWN")

    def charge(self, amount_cents: int) -> str:
        return f"Requested {amount_cents / 100:.2f} in USDC"
