"""The demo's data, in every tenant's schema: orders and the outbox of notifications."""

from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from engine import UnknownRegistry, UnknownStrategy, get_registry
from example_site.catalogue import decimal, money


class Order(models.Model):
    """An order placed on a tenant's site: what was bought, how it was priced and paid.

    ``pricing``, ``payment_method`` and the notification channels store strategy slugs, the
    stable names of the registries, never import paths.
    """

    class Status(models.TextChoices):
        NEW = "new", "new"
        PAID = "paid", "paid"
        INVOICED = "invoiced", "invoiced"
        AWAITING_PAYMENT = "awaiting_payment", "awaiting payment"

    product = models.CharField(max_length=50, help_text="The catalogue slug of the product.")
    product_name = models.CharField(max_length=100)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    total_cents = models.BigIntegerField(validators=[MinValueValidator(0)])
    pricing = models.CharField(max_length=100, help_text="Slug of the pricing rule used.")
    # The quote's lines as [[text, cents], ...], so the receipt shows how the total came about.
    price_lines = models.JSONField(default=list, blank=True)
    payment_method = models.CharField(max_length=100, blank=True)
    payment_reference = models.CharField(max_length=100, blank=True)
    payment_status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    receipt = models.TextField(blank=True, help_text="The payment gateway's receipt line.")
    due_on = models.DateField(null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
    )
    placed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-placed_at", "-pk"]
        permissions = [
            ("use_invoice", "Can pay by invoice"),
            ("export_spreadsheet", "Can export orders as spreadsheets"),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}: {self.quantity} x {self.product_name}"

    @property
    def number(self) -> str:
        """The order's number as shown to people: ``#00042``."""
        return f"#{self.pk:05d}" if self.pk else "#new"

    @property
    def total(self) -> Decimal:
        return decimal(self.total_cents)

    @property
    def total_display(self) -> str:
        return money(self.total_cents)

    @property
    def pricing_label(self) -> str:
        return strategy_label("pricing", self.pricing)

    @property
    def payment_label(self) -> str:
        return strategy_label("payments", self.payment_method)

    def lines(self) -> list[tuple[str, str]]:
        """Return the quote's lines as ``(text, formatted amount)``."""
        return [(str(text), money(int(cents))) for text, cents in self.price_lines]


def strategy_label(key: str, slug: str) -> str:
    """Return the label of strategy ``slug`` of registry ``key``; the slug if it is gone."""
    try:
        return str(get_registry(key).get(slug).label)
    except (UnknownRegistry, UnknownStrategy):
        return slug


class OutboxMessage(models.Model):
    """A notification as a channel wrote it: e-mails are also sent, the others only recorded.

    ``channel`` is the slug of the notification strategy; ``payload`` holds what the channel
    would transmit (Slack blocks, SMS segments, a webhook's headers and signature).
    """

    channel = models.CharField(max_length=100)
    recipient = models.CharField(max_length=255)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.subject or self.body[:40]}"

    @property
    def channel_label(self) -> str:
        return strategy_label("notifications", self.channel)

    @property
    def payload_json(self) -> str:
        """The payload as indented JSON, for people."""
        return json.dumps(self.payload, indent=2, ensure_ascii=False)
