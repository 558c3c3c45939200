"""Notifications: how a tenant hears about a new order (e-mail, SMS, Slack, webhook).

A registry holding a set: e-mail is mandatory, and a tenant adds any of the others it may use;
each order is announced on every channel in force, in the set's order.

Nothing leaves the process: e-mail goes through Django's e-mail backend (the console in the
demo) and every channel writes what it would transmit to the outbox table.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from abc import abstractmethod
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction

from conditions import Context, Flag, Rollout
from engine import Registry, SecretField, Strategy, StrategyConfig
from example_site.catalogue import money
from tenants.conditions import PlanAtLeast

if TYPE_CHECKING:
    from example_site.models import Order, OutboxMessage

# GSM 03.38: a text of the basic set (one septet each) and the extension table (two septets:
# an escape and the character) is sent 7-bit, 160 septets in one part or 153 per part when
# split; anything else makes the whole text UCS-2, 70 characters in one part or 67 per part.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


class NotificationChannels(Registry):
    """How a tenant is told about new orders: e-mail always, plus any of SMS, Slack, webhook."""

    key = "notifications"
    multiple = True  # request.strategy.notifications is a tuple: every channel in force
    mandatory = ("email",)


class Notifier(Strategy):
    """Tells the tenant about an order and records the message in the outbox."""

    registry = NotificationChannels

    @abstractmethod
    def recipient(self) -> str:
        """Return where this channel delivers for the context's tenant."""

    @abstractmethod
    def notify(self, order: Order) -> OutboxMessage:
        """Notify about ``order`` (saved and paid); return the outbox message written."""

    def schema(self) -> str:
        tenant = getattr(self.context, "tenant", None)
        return str(getattr(tenant, "schema_name", "public"))

    def summary(self, order: Order) -> str:
        """Return the one-line text every channel starts from."""
        return (
            f"Order {order.number}: {order.quantity} x {order.product_name}, "
            f"{money(order.total_cents)} by {order.payment_method} ({order.payment_reference})"
        )

    def record(self, order: Order, body: str, subject: str = "", **payload: Any) -> OutboxMessage:
        from example_site.models import OutboxMessage

        return OutboxMessage.objects.create(
            channel=self.slug,
            recipient=self.recipient(),
            subject=subject,
            body=body,
            payload=payload,
            order=order,
        )


class Email(Notifier):
    """Sends an e-mail through Django's e-mail backend once the order is committed."""

    slug = "email"
    label = "E-mail"
    priority = 10

    def recipient(self) -> str:
        return f"orders@{self.schema()}.example.com"

    def notify(self, order: Order) -> OutboxMessage:
        subject = f"New order {order.number}"
        body = f"{self.summary(order)}\n\n{order.receipt}\n"
        message = self.record(order, body, subject, sender=settings.DEFAULT_FROM_EMAIL)
        recipient = message.recipient
        # After the commit: a rolled-back order sends nothing.
        transaction.on_commit(
            lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
        )
        return message


class Sms(Notifier):
    """Texts the on-call phone, split into SMS parts the way carriers count them."""

    slug = "sms"
    label = "SMS"
    priority = 20
    condition = PlanAtLeast("pro")

    def recipient(self) -> str:
        return "+15550100"

    def notify(self, order: Order) -> OutboxMessage:
        text = self.summary(order)
        encoding, parts = sms_parts(text)
        return self.record(order, text, encoding=encoding, parts=parts)


def sms_parts(text: str) -> tuple[str, list[str]]:
    """Return the encoding (``GSM-7`` or ``UCS-2``) and the parts ``text`` is sent as.

    A part never ends between an extension character's escape and the character itself.
    """
    if all(character in GSM_BASIC or character in GSM_EXTENSION for character in text):
        encoding, single, limit = "GSM-7", 160, 153
        cost = [2 if character in GSM_EXTENSION else 1 for character in text]
    else:
        encoding, single, limit = "UCS-2", 70, 67
        cost = [1] * len(text)
    if sum(cost) <= single:
        return encoding, [text]
    parts, start, used = [], 0, 0
    for index, septets in enumerate(cost):
        if used + septets > limit:
            parts.append(text[start:index])
            start, used = index, 0
        used += septets
    parts.append(text[start:])
    return encoding, parts


class Slack(Notifier):
    """Posts to the tenant's #orders channel (the Block Kit message is recorded, not sent)."""

    slug = "slack"
    label = "Slack"
    priority = 30
    condition = Flag("slack_alerts")

    def recipient(self) -> str:
        return "#orders"

    def notify(self, order: Order) -> OutboxMessage:
        text = self.summary(order)
        blocks = [
            {"type": "header", "text": {"type": "plain_text", "text": f"New order {order.number}"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Product*\n{order.product_name}"},
                    {"type": "mrkdwn", "text": f"*Quantity*\n{order.quantity}"},
                    {"type": "mrkdwn", "text": f"*Total*\n{money(order.total_cents)}"},
                    {"type": "mrkdwn", "text": f"*Payment*\n{order.payment_method}"},
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": order.receipt}]},
        ]
        return self.record(order, text, channel=self.recipient(), text=text, blocks=blocks)


class Webhook(Notifier):
    """Signs a JSON event for the tenant's endpoint (recorded in the outbox, not sent)."""

    slug = "webhook"
    label = "Webhook"
    priority = 40
    condition = PlanAtLeast("pro") & Rollout(50, salt="webhooks-1")

    class Config(StrategyConfig):
        """Where the tenant receives its events, and the secret they are signed with."""

        url = forms.URLField(
            assume_scheme="https", max_length=500, help_text="Your endpoint, e.g. https://…"
        )
        signing_secret = SecretField(
            min_length=16, max_length=200, help_text="Verify X-Switchyard-Signature with it."
        )

        def validate(self, context: Context) -> None:
            if not self.cleaned_data["url"].startswith("https://"):
                raise ValidationError("The webhook URL must use https://.", code="insecure_url")

    def recipient(self) -> str:
        return str(self.config.url)

    def signature(self, body: str) -> str:
        """Return the ``sha256=...`` signature of ``body`` with the tenant's signing secret."""
        key = str(self.config.signing_secret).encode()
        return "sha256=" + hmac.new(key, body.encode(), hashlib.sha256).hexdigest()

    def notify(self, order: Order) -> OutboxMessage:
        event = {
            "event": "order.placed",
            "order": {
                "number": order.number,
                "product": order.product,
                "quantity": order.quantity,
                "total": str(order.total),
                "payment_method": order.payment_method,
                "payment_reference": order.payment_reference,
                "status": order.payment_status,
                "placed_at": order.placed_at.isoformat(),
            },
        }
        body = json.dumps(event, sort_keys=True)
        headers = {
            "Content-Type": "application/json",
            "X-Switchyard-Event": "order.placed",
            "X-Switchyard-Signature": self.signature(body),
        }
        return self.record(order, body, method="POST", url=self.recipient(), headers=headers)
