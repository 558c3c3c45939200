"""Card networks: which network the card gateway charges through, a child of payments.

Every network serves the card gateways only (``parents = {"card", "stripe"}``): under invoice
or crypto no network is valid, and a tenant's stored network is kept until a card gateway is in
force again.
"""

from __future__ import annotations

from typing import ClassVar

from engine import Registry, Strategy
from example_site.registries.payments import PaymentGateways
from tenants.conditions import PlanAtLeast

BASIS_POINTS = 10_000


class CardNetworks(Registry):
    """The network card payments go through (only under a card gateway)."""

    key = "card_networks"
    label = "Card network"
    parent = PaymentGateways.key
    default = "visa"


class CardNetwork(Strategy):
    """Routes a card payment through one network, for its fee."""

    registry = CardNetworks
    parents = frozenset({"card", "stripe"})
    # The network's fee, in hundredths of a percent of the amount.
    fee_basis_points: ClassVar[int]

    def fee_cents(self, amount_cents: int) -> int:
        """Return the network's fee on ``amount_cents``, rounded half up to a cent."""
        return (amount_cents * self.fee_basis_points + BASIS_POINTS // 2) // BASIS_POINTS


class Visa(CardNetwork):
    """Visa: accepted everywhere, 1.5 % per payment."""

    slug = "visa"
    label = "Visa"
    priority = 10
    fee_basis_points = 150


class Mastercard(CardNetwork):
    """Mastercard: accepted everywhere, 1.4 % per payment."""

    slug = "mastercard"
    label = "Mastercard"
    priority = 20
    fee_basis_points = 140


class Amex(CardNetwork):
    """American Express: for pro plans and above, 2.5 % per payment."""

    slug = "amex"
    label = "American Express"
    priority = 30
    fee_basis_points = 250
    condition = PlanAtLeast("pro")
