"""The demo's dashboard: the strategy in force, why, what was skipped, for a tenant's member."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import tenant_context

from engine.testing import override_condition, override_strategy
from example_site.strategies import Card, Crypto, Invoice
from tenants.models import Tenant
from tests.engine.core_support import Boom
from tests.helpers import get, store


def test_home_page_shows_the_payment_strategy_and_why(pro_tenant: Tenant) -> None:
    response = get("globex.localhost")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="payment-strategy">Credit card</strong>' in html
    assert "(the registry&#x27;s default)" in html
    assert "plan:enterprise | perm:example_site.use_invoice" in html


def test_home_page_shows_a_skipped_selection(pro_tenant: Tenant) -> None:
    store(pro_tenant, "invoice")  # globex is on pro: invoice needs enterprise (or the perm)
    html = get("globex.localhost").content.decode()
    assert '<strong id="payment-strategy">Credit card</strong>' in html
    assert "Skipped: the tenant&#x27;s selection &#x27;invoice&#x27; is unavailable" in html


def test_enterprise_tenant_gets_its_invoice_selection(enterprise_tenant: Tenant) -> None:
    store(enterprise_tenant, "invoice")
    html = get("initech.localhost").content.decode()
    assert '<strong id="payment-strategy">Invoice (net 30)</strong>' in html
    assert "(the tenant&#x27;s selection)" in html


def test_one_broken_condition_never_breaks_the_page(pro_tenant: Tenant) -> None:
    store(pro_tenant, "crypto")
    with override_condition(Crypto, Boom("chain")):
        response = get("globex.localhost")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<strong id="payment-strategy">Credit card</strong>' in html
    assert "Skipped: the tenant&#x27;s selection &#x27;crypto&#x27; is unavailable" in html
    assert '<tr id="payment-crypto">' in html


def test_override_strategy_reaches_requests(pro_tenant: Tenant) -> None:
    with override_strategy(Crypto):
        html = get("globex.localhost").content.decode()
    assert '<strong id="payment-strategy">Crypto (beta)</strong>' in html
    assert "forced by engine.testing.override_strategy" in html


def test_a_user_selection_of_a_logged_in_user(pro_tenant: Tenant) -> None:
    with tenant_context(pro_tenant):
        get_user_model().objects.create_user("dora", password="pw-for-dora")
    client = Client(HTTP_HOST="globex.localhost")
    assert client.post("/accounts/login/", {"username": "dora", "password": "pw-for-dora"})
    html = client.get("/").content.decode()
    assert "dora" in html
    assert '<strong id="payment-strategy">Credit card</strong>' in html


def test_no_strategy_left_is_shown_not_raised_by_the_page(pro_tenant: Tenant) -> None:
    with override_condition(Crypto, Boom("chain")), override_condition(Card, Invoice, False):
        html = get("globex.localhost").content.decode()
    assert "No payment method is available: No strategy of &#x27;payments&#x27;" in html
