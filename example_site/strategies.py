"""The demo's registries, discovered at start-up (discovery imports ``<app>.strategies``).

Each registry lives in its own module under ``example_site.registries``; importing them here
registers them. The payments names are re-exported because projects and tests import them
from here.
"""

from __future__ import annotations

from example_site.registries import card_networks, exports, notifications, pricing
from example_site.registries.payments import Card, Crypto, Invoice, PaymentGateway, PaymentGateways

__all__ = [
    "Card",
    "Crypto",
    "Invoice",
    "PaymentGateway",
    "PaymentGateways",
    "card_networks",
    "exports",
    "notifications",
    "pricing",
]
