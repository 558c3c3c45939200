"""example_site/registries/notifications.py: what each channel writes, sends and signs."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from conditions import Context
from example_site.models import Order, OutboxMessage
from example_site.registries.notifications import (
    Email,
    NotificationChannels,
    Slack,
    Sms,
    Webhook,
    sms_parts,
)
from tenants.models import PlatformFlag, Tenant
from tests.example_site.sites import make_order


def paid_order(tenant: Tenant) -> Order:
    return make_order(
        tenant,
        4900,
        payment_method="card",
        payment_reference="ch_0123456789abcdef",
        payment_status="paid",
        receipt="Charged 49.00 to the card on file",
    )


def test_the_registry_holds_a_set_with_email_always_in_it() -> None:
    assert NotificationChannels.key == "notifications"
    assert NotificationChannels.multiple is True
    assert NotificationChannels.mandatory == ("email",)
    assert NotificationChannels.slugs() == ("email", "sms", "slack", "webhook")


def test_an_email_is_recorded_at_once_and_sent_when_the_order_commits(
    free_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    order = paid_order(free_tenant)
    with tenant_context(free_tenant), django_capture_on_commit_callbacks() as callbacks:
        message = Email(Context(tenant=free_tenant)).notify(order)
        assert mail.outbox == []  # not before the commit
    assert (message.channel, message.recipient) == ("email", "orders@acme.example.com")
    assert message.subject == f"New order {order.number}"
    assert message.body.startswith(
        f"Order {order.number}: 1 x Analytics add-on, 49.00 by card (ch_0123456789abcdef)"
    )
    assert len(callbacks) == 1
    callbacks[0]()  # the commit
    (sent,) = mail.outbox
    assert (sent.to, sent.subject, sent.body) == (
        [message.recipient],
        message.subject,
        message.body,
    )
    assert sent.from_email == "orders@switchyard.localhost"


def test_an_sms_is_split_into_the_parts_carriers_bill(pro_tenant: Tenant) -> None:
    with tenant_context(pro_tenant):
        message = Sms(Context(tenant=pro_tenant)).notify(paid_order(pro_tenant))
        assert OutboxMessage.objects.get() == message
    assert message.recipient == "+15550100"
    assert message.payload == {"encoding": "GSM-7", "parts": [message.body]}


def test_sms_parts_follow_gsm_rules() -> None:
    assert sms_parts("a" * 160) == ("GSM-7", ["a" * 160])
    encoding, parts = sms_parts("a" * 161)
    assert (encoding, [len(part) for part in parts]) == ("GSM-7", [153, 8])
    # Extension characters take two septets and are never cut from their escape.
    assert sms_parts("€" * 80) == ("GSM-7", ["€" * 80])
    assert [len(part) for part in sms_parts("a" + "€" * 80)[1]] == [77, 4]
    # One character outside GSM makes the whole text UCS-2: 70 characters, 67 per part.
    assert sms_parts("Café ☕") == ("UCS-2", ["Café ☕"])
    assert [len(part) for part in sms_parts("☕" * 71)[1]] == [67, 4]


def test_slack_records_the_block_kit_message(pro_tenant: Tenant) -> None:
    order = paid_order(pro_tenant)
    with tenant_context(pro_tenant):
        message = Slack(Context(tenant=pro_tenant)).notify(order)
    assert (message.channel, message.recipient) == ("slack", "#orders")
    blocks = message.payload["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"New order {order.number}"},
    }
    assert {"type": "mrkdwn", "text": "*Total*\n49.00"} in blocks[1]["fields"]
    assert message.payload["text"] == message.body


def configure_webhook(tenant: Tenant, url: str, secret: str) -> None:
    NotificationChannels.configure(
        "webhook", {"url": url, "signing_secret": secret}, Context(tenant=tenant), via="test"
    )


def test_a_webhook_is_signed_with_the_tenants_secret_and_not_sent(
    enterprise_tenant: Tenant, pro_tenant: Tenant
) -> None:
    order = paid_order(enterprise_tenant)
    secret = "whsec_initech_0123456789"
    configure_webhook(enterprise_tenant, "https://hooks.initech.example/orders", secret)
    with tenant_context(enterprise_tenant):
        NotificationChannels.select(["email", "webhook"], Context(tenant=enterprise_tenant))
        email, webhook = NotificationChannels.resolve(Context(tenant=enterprise_tenant)).strategy
        assert isinstance(email, Email) and isinstance(webhook, Webhook)
        message = webhook.notify(order)
    assert message.recipient == "https://hooks.initech.example/orders"
    event = json.loads(message.body)
    assert event["event"] == "order.placed"
    assert event["order"]["total"] == "49.00"
    headers = message.payload["headers"]
    expected = hmac.new(secret.encode(), message.body.encode(), hashlib.sha256).hexdigest()
    assert headers["X-Switchyard-Signature"] == f"sha256={expected}"
    assert secret not in json.dumps(message.payload)  # the secret signs, it is never sent
    assert mail.outbox == []


def test_a_webhook_needs_its_url_and_secret_and_refuses_plain_http(
    enterprise_tenant: Tenant,
) -> None:
    context = Context(tenant=enterprise_tenant)
    explained = NotificationChannels.explain(context)["webhook"]
    assert explained.not_configured == "webhook needs url, signing_secret"
    with pytest.raises(ValidationError, match="must use https"):
        configure_webhook(enterprise_tenant, "http://initech.example/hook", "x" * 20)
    with pytest.raises(ValidationError, match="at least 16"):
        configure_webhook(enterprise_tenant, "https://initech.example/hook", "short")


def test_who_may_use_which_channel(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    PlatformFlag.objects.create(name="slack_alerts", tenant_percent=50)
    offered = {
        tenant.schema_name: [
            s.slug for s in NotificationChannels.available(Context(tenant=tenant), configured=False)
        ]
        for tenant in (free_tenant, pro_tenant, enterprise_tenant)
    }
    assert offered == {
        "acme": ["email", "slack"],  # free: no SMS; in the flag's half
        "globex": ["email", "sms", "slack"],  # outside the webhooks rollout
        "initech": ["email", "sms", "webhook"],  # outside the flag's half
    }
    # The webhook also needs its URL and secret before it is available at all.
    ready = NotificationChannels.available(Context(tenant=enterprise_tenant))
    assert [s.slug for s in ready] == ["email", "sms"]
    rollout = Webhook.condition.explain(Context(tenant=pro_tenant)).children[1]
    assert (rollout.text, rollout.detail) == (
        "rollout:50,salt=webhooks-1",
        "tenant globex: bucket 93.72 >= 50",
    )
