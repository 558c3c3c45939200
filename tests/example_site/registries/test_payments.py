"""example_site/registries/payments.py: receipts of each gateway, and who may use which."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import override_settings
from django_tenants.utils import tenant_context

from conditions import Context
from example_site.registries.payments import Card, Crypto, Invoice, PaymentGateways, Receipt
from tenants.models import PlatformFlag, Tenant
from tests.example_site.sites import make_order


def test_the_registry_keeps_its_key_default_and_slugs() -> None:
    assert PaymentGateways.key == "payments"
    assert PaymentGateways.default == "card"
    assert PaymentGateways.slugs() == ("card", "stripe", "invoice", "crypto")


def test_a_card_is_charged_at_once_with_a_stable_reference(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    order = make_order(free_tenant, 1250)
    receipt = Card(Context(tenant=free_tenant)).pay(order)
    assert receipt == Receipt(
        gateway="card",
        reference=receipt.reference,
        status="paid",
        text="Charged 12.50 to the card on file",
        due_on=None,
    )
    assert receipt.reference.startswith("ch_") and len(receipt.reference) == 19
    assert Card(Context(tenant=free_tenant)).pay(order).reference == receipt.reference
    # Order pks repeat in every schema: the tenant is part of the reference.
    other = make_order(pro_tenant, 1250, pk=order.pk)
    assert Card(Context(tenant=pro_tenant)).pay(other).reference != receipt.reference


def test_an_invoice_is_numbered_and_due_in_thirty_days(enterprise_tenant: Tenant) -> None:
    order = make_order(enterprise_tenant, 98000)
    receipt = Invoice(Context(tenant=enterprise_tenant)).pay(order)
    assert receipt.reference == f"INV-{order.placed_at:%Y}-{order.pk:05d}"
    assert receipt.status == "invoiced"
    assert receipt.text == "Invoiced 980.00, due in 30 days"
    assert receipt.due_on == order.placed_at.date() + timedelta(days=30)


def test_crypto_asks_for_a_transfer_to_an_address_of_the_order(pro_tenant: Tenant) -> None:
    order = make_order(pro_tenant, 123456)
    receipt = Crypto(Context(tenant=pro_tenant)).pay(order)
    address = receipt.reference
    assert address.startswith("0x") and len(address) == 42
    int(address, 16)  # hexadecimal
    assert receipt.status == "awaiting_payment"
    assert receipt.text == f"Requested 1234.56 in USDC (1,234.56 USDC to {address})"
    assert Crypto(Context(tenant=pro_tenant)).pay(make_order(pro_tenant)).reference != address


def test_invoices_are_for_enterprise_tenants_or_people_allowed_to_use_them(
    free_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    assert not Invoice.is_available(Context(tenant=free_tenant))
    assert Invoice.is_available(Context(tenant=enterprise_tenant))
    with tenant_context(free_tenant):
        accountant = get_user_model().objects.create_user("accountant")
        accountant.user_permissions.add(Permission.objects.get(codename="use_invoice"))
        allowed = Context(tenant=free_tenant, user=accountant)
        assert Invoice.is_available(allowed)
    explanation = Invoice.condition.explain(Context(tenant=free_tenant))
    assert explanation.text == "plan:enterprise | perm:example_site.use_invoice"
    assert [child.result for child in explanation.children] == [False, False]


def test_crypto_needs_its_platform_flag_and_no_payments_lockdown(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    assert not Crypto.is_available(Context(tenant=pro_tenant))  # no flag yet
    PlatformFlag.objects.create(name="crypto_beta", tenants=["globex"])
    assert Crypto.is_available(Context(tenant=pro_tenant))
    assert not Crypto.is_available(Context(tenant=free_tenant))
    with override_settings(PAYMENTS_LOCKDOWN=True):
        assert not Crypto.is_available(Context(tenant=pro_tenant))
