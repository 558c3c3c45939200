"""example_site/views.py: every page of the demo through real requests to each tenant's host."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from engine.models import Selection, SelectionHistory
from example_site.models import Order, OutboxMessage
from tenants.models import Tenant
from tests.example_site.sites import fragment, site

SETTINGS = {"payments": "card", "notifications": ["email"], "exports": "csv", "pricing": "flat"}


def settings_form(client: Client, path: str = "/settings/", **changes: str) -> dict[str, Any]:
    """What the settings page (or ``path``) posts back: every field as shown (whatever
    registries are installed, the tests' own included), with ``changes``."""
    form = client.get(path).context["form"]
    shown = {name: form[name].value() for name, field in form.fields.items() if not field.disabled}
    return {name: value for name, value in {**shown, **changes}.items() if value is not None}


# -- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_shows_each_registry_in_force_and_why(demo: dict[str, Tenant]) -> None:
    html = site(demo["globex"], "member").get("/").content.decode()
    for key in ("payments", "notifications", "exports", "pricing"):
        assert f'<section class="card" id="{key}">' in html
    # notifications holds a set: e-mail (mandatory) and the Slack globex chose.
    assert '<strong id="notification-strategy">E-mail, Slack</strong>' in html
    assert '<span class="muted" id="notification-reason">(the tenant&#x27;s selection)' in html
    assert "in force" in fragment(html, "notification-email")
    assert "in force" in fragment(html, "notification-slack")
    assert '<strong id="pricing-strategy">Volume discount</strong>' in html
    assert "in the group Finance" in html
    webhook = fragment(html, "notification-webhook")
    assert "✗ no" in webhook
    assert "tenant globex: bucket 93.72 &gt;= 50" in webhook


def test_the_dashboard_differs_per_login(demo: dict[str, Tenant]) -> None:
    globex = demo["globex"]
    member = site(globex, "member").get("/").content.decode()
    assert '<strong id="export-strategy">Excel (XLSX)</strong>' in member
    assert "✗ no" in fragment(member, "export-json")  # not a developer

    with tenant_context(globex):
        get_user_model().objects.create_user("newcomer")  # in no group: no Excel permission
    newcomer = site(globex, "newcomer").get("/").content.decode()
    assert '<strong id="export-strategy">CSV</strong>' in newcomer
    assert "Skipped: the tenant&#x27;s selection &#x27;xlsx&#x27; is unavailable" in newcomer
    assert "<strong>newcomer</strong>,\n    in no group," in newcomer

    acme = site(demo["acme"], "member").get("/").content.decode()
    assert "✓ yes" in fragment(acme, "export-json")  # a developer
    assert "user member is in: Developers" in fragment(acme, "export-json")


def test_anonymous_visitors_get_the_public_page_without_the_tenants_configuration(
    demo: dict[str, Tenant],
) -> None:
    response = site(demo["globex"]).get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Globex</h1>" in html
    assert 'id="public-login"' in html and 'href="/accounts/login/?next=/"' in html
    # Neither the plan, nor what the tenant chose, nor any condition or explanation.
    page = html[html.index("<body>") :]
    for secret in ("pro", "plan", "Slack", "xlsx", "Excel", "Volume", "flag:", "perm:", "Skipped"):
        assert secret not in page, secret
    assert 'id="settings-link"' not in html


def test_a_warm_dashboard_costs_no_query_for_visitors_and_four_for_a_login(
    demo: dict[str, Tenant], django_assert_num_queries: Any
) -> None:
    visitor = site(demo["globex"])
    visitor.get("/")  # warm: tenant routing, selections, flags
    with django_assert_num_queries(0):
        assert visitor.get("/").status_code == 200

    member = site(demo["globex"], "member")
    member.get("/")
    with CaptureQueriesContext(connection) as captured:
        assert member.get("/").status_code == 200
    tables = [
        re.search(r'FROM "(\w+)"', query["sql"]).group(1)  # type: ignore[union-attr]
        for query in captured.captured_queries
        if not query["sql"].startswith("SET ")
    ]
    # The session and its user, then the user's permissions and groups once each, however
    # many conditions of the four registries (and the settings link) ask.
    assert tables == ["django_session", "auth_user", "auth_permission", "auth_group"]


# -- settings --------------------------------------------------------------------------------


def test_settings_are_for_the_owner(demo: dict[str, Tenant]) -> None:
    acme = demo["acme"]
    anonymous = site(acme).get("/settings/")
    assert (anonymous.status_code, anonymous["Location"]) == (
        302,
        "/accounts/login/?next=/settings/",
    )
    assert site(acme, "member").get("/settings/").status_code == 403
    assert site(acme, "member").post("/settings/", SETTINGS).status_code == 403
    assert 'id="settings-link"' not in site(acme, "member").get("/").content.decode()
    with tenant_context(acme):
        assert not Selection.objects.exists()


def test_the_owner_sees_only_what_is_available_and_why_not_the_rest(
    demo: dict[str, Tenant],
) -> None:
    html = site(demo["acme"], "owner").get("/settings/").content.decode()
    pricing = fragment(html, "settings-pricing")
    assert 'value="flat"' in pricing
    assert 'value="per_seat"' not in pricing and 'value="volume"' not in pricing
    per_seat = fragment(html, "unavailable-pricing-per_seat")
    assert "plan:enterprise" in per_seat and "tenant acme is on plan &#x27;free&#x27;" in per_seat


def test_the_owner_changes_a_strategy_and_the_dashboard_follows(demo: dict[str, Tenant]) -> None:
    acme = demo["acme"]
    owner = site(acme, "owner")
    chosen = {"notifications": ["email", "slack"], "notifications-position-slack": "1"}
    response = owner.post("/settings/", {**settings_form(owner), **chosen}, follow=True)
    assert response.redirect_chain == [("/settings/", 302)]
    assert "Saved Notifications → Slack, E-mail." in response.content.decode()
    with tenant_context(acme):
        stored = Selection.objects.get(registry="notifications", user=None)
        assert (stored.slug, stored.changed_by.username) == ("slack,email", "owner")
        assert SelectionHistory.objects.get(registry="notifications").via == "form"
    html = owner.get("/").content.decode()
    assert '<strong id="notification-strategy">Slack, E-mail</strong>' in html
    assert "(the tenant&#x27;s selection)" in fragment(html, "notifications")


@pytest.mark.parametrize(
    ("pricing", "error"),
    [
        ("per_seat", "Strategy &#x27;per_seat&#x27; of &#x27;pricing&#x27; is not available here"),
        ("per-seat", "Unknown strategy &#x27;per-seat&#x27; in &#x27;pricing&#x27;."),
        ("invoice", "Unknown strategy &#x27;invoice&#x27; in &#x27;pricing&#x27;."),
    ],
)
def test_a_crafted_choice_is_refused_and_nothing_is_stored(
    demo: dict[str, Tenant], pricing: str, error: str
) -> None:
    acme = demo["acme"]
    owner = site(acme, "owner")
    response = owner.post("/settings/", settings_form(owner, pricing=pricing))
    assert response.status_code == 400
    assert error in fragment(response.content.decode(), "settings-pricing")
    with tenant_context(acme):
        assert not Selection.objects.exists()
        assert not SelectionHistory.objects.exists()


# -- checkout, orders, outbox ----------------------------------------------------------------


def test_checkout_needs_a_login(demo: dict[str, Tenant]) -> None:
    response = site(demo["acme"]).get("/checkout/")
    assert response["Location"] == "/accounts/login/?next=/checkout/"


def test_checkout_shows_what_will_price_charge_and_announce_the_order(
    demo: dict[str, Tenant],
) -> None:
    html = site(demo["initech"], "member").get("/checkout/").content.decode()
    assert "Per seat" in fragment(html, "checkout-pricing")
    assert "Invoice (net 30)" in fragment(html, "checkout-payments")
    assert "E-mail" in fragment(html, "checkout-notifications")


def test_a_preview_prices_the_order_and_stores_nothing(demo: dict[str, Tenant]) -> None:
    globex = demo["globex"]
    with tenant_context(globex):
        before = Order.objects.count()
    response = site(globex, "member").post(
        "/checkout/", {"product": "analytics", "quantity": "25", "preview": "1"}
    )
    quote = fragment(response.content.decode(), "quote")
    assert "Volume discount 20 % (25+ units)" in quote
    assert '<th class="amount" id="quote-total">980.00</th>' in quote
    with tenant_context(globex):
        assert Order.objects.count() == before


def test_placing_an_order_charges_it_and_notifies(
    demo: dict[str, Tenant], django_capture_on_commit_callbacks: Any
) -> None:
    acme = demo["acme"]
    client = site(acme, "member")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/checkout/", {"product": "support", "quantity": "2"})
    with tenant_context(acme):
        order = Order.objects.latest("pk")
    assert response["Location"] == f"/orders/{order.pk}/"
    assert (order.placed_by.username, order.total_cents) == ("member", 24000)
    page = client.get(response["Location"]).content.decode()
    assert f"Order {order.number} placed." in page
    assert "Charged 240.00 to the card on file" in fragment(page, "receipt-text")
    assert order.payment_reference in fragment(page, "receipt-reference")
    notifications = fragment(page, "notifications")
    assert "E-mail" in notifications and "orders@acme.example.com" in notifications
    (sent,) = mail.outbox
    assert sent.subject == f"New order {order.number}"
    outbox = client.get("/outbox/").content.decode()
    assert f"New order {order.number}" in outbox


def test_an_order_on_globex_is_announced_by_email_and_on_slack(demo: dict[str, Tenant]) -> None:
    globex = demo["globex"]
    response = site(globex, "owner").post("/checkout/", {"product": "storage", "quantity": "10"})
    page = site(globex, "owner").get(response["Location"]).content.decode()
    assert "Volume discount 10 % (10+ units)" in fragment(page, "price-lines")
    with tenant_context(globex):
        email, message = OutboxMessage.objects.order_by("pk")
    # Every channel of the set in force, in its order: e-mail (mandatory), then Slack.
    assert (email.channel, message.channel) == ("email", "slack")
    assert "Slack" in fragment(page, f"message-{message.pk}")
    assert "&quot;type&quot;: &quot;header&quot;" in fragment(page, f"message-{message.pk}")
    assert email.recipient == "orders@globex.example.com"


@pytest.mark.parametrize("quantity", ["0", "1001", "two"])
def test_a_bad_quantity_is_a_form_error(demo: dict[str, Tenant], quantity: str) -> None:
    acme = demo["acme"]
    response = site(acme, "owner").post("/checkout/", {"product": "support", "quantity": quantity})
    assert response.status_code == 200
    assert 'class="errorlist' in fragment(response.content.decode(), "checkout-form")
    with tenant_context(acme):
        assert Order.objects.count() == 2  # the seeded ones


def test_an_unknown_product_is_named_with_a_suggestion(demo: dict[str, Tenant]) -> None:
    response = site(demo["acme"], "owner").post(
        "/checkout/", {"product": "suport", "quantity": "1"}
    )
    assert "Select a valid choice. suport is not one of the available choices." in (
        response.content.decode()
    )


def test_orders_list_each_order_with_the_labels_of_its_strategies(
    demo: dict[str, Tenant],
) -> None:
    html = site(demo["initech"], "member").get("/orders/").content.decode()
    rows = re.findall(r'<tr id="order-\d+">.*?</tr>', html, re.S)
    assert len(rows) == 2
    assert all("Per seat" in row and "Invoice (net 30)" in row for row in rows)
    assert "Download as CSV" in fragment(html, "export-link")


def test_an_order_of_another_tenant_is_not_found(demo: dict[str, Tenant]) -> None:
    with tenant_context(demo["globex"]):
        pk = Order.objects.create(
            product="support", product_name="Priority support", quantity=1, total_cents=1
        ).pk
    assert site(demo["globex"], "owner").get(f"/orders/{pk}/").status_code == 200
    assert site(demo["acme"], "owner").get(f"/orders/{pk}/").status_code == 404


# -- export ----------------------------------------------------------------------------------


def download(client: Client) -> Any:
    response = client.get("/orders/export/")
    assert response.status_code == 200
    return response


def test_the_export_downloads_in_the_format_in_force(demo: dict[str, Tenant]) -> None:
    today = timezone.localdate()
    response = download(site(demo["acme"], "member"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="acme-orders-{today:%Y-%m-%d}.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["quantity"] for row in rows) == ["1", "4"]

    response = download(site(demo["globex"], "member"))  # Finance, on pro: Excel
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].endswith(f'globex-orders-{today:%Y-%m-%d}.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Orders"]
    assert sorted(row[3] for row in sheet.iter_rows(min_row=2, values_only=True)) == [2, 12]


def test_the_export_follows_a_changed_selection(demo: dict[str, Tenant]) -> None:
    owner = site(demo["acme"], "owner")
    owner.post("/settings/", settings_form(owner, exports="json"))
    response = download(owner)
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["count"] == 2
    # The member is a developer too: the tenant's choice applies to them.
    assert download(site(demo["acme"], "member"))["Content-Type"] == "application/json"


def test_the_export_needs_a_login(demo: dict[str, Tenant]) -> None:
    assert site(demo["acme"]).get("/orders/export/").status_code == 302


# -- the platform ----------------------------------------------------------------------------


def test_the_platform_home_lists_each_tenants_site(demo: dict[str, Tenant]) -> None:
    html = Client(HTTP_HOST="localhost").get("/").content.decode()
    for schema in ("acme", "globex", "initech"):
        assert f'<a href="http://{schema}.localhost:80/">{schema}.localhost</a>' in fragment(
            html, f"tenant-{schema}"
        )


def test_the_platform_page_shows_the_flags_per_tenant(demo: dict[str, Tenant]) -> None:
    platform = Client(HTTP_HOST="localhost")
    with schema_context("public"):
        platform.force_login(get_user_model().objects.get(username="admin"))
    html = platform.get("/platform/").content.decode()
    assert '<span class="own">invoice</span>' in fragment(html, "tenant-initech")
    crypto = fragment(html, "flag-crypto_beta")
    assert "tenants: globex" in crypto
    assert re.findall(r'data-tenant="(\w+)"[^>]*>(on|off|per user)<', crypto) == [
        ("acme", "off"),
        ("globex", "on"),
        ("initech", "off"),
    ]
    slack = fragment(html, "flag-slack_alerts")
    assert "50 % of tenants" in slack
    assert re.findall(r'data-tenant="(\w+)"[^>]*>(on|off|per user)<', slack) == [
        ("acme", "on"),
        ("globex", "on"),
        ("initech", "off"),
    ]
    flags = platform.get("/platform/", {"format": "json"}).json()["flags"]
    assert flags[0] == {
        "name": "crypto_beta",
        "note": "Crypto payments beta: one tenant tries it first.",
        "targets": ["tenants: globex"],
        "tenants": {"acme": "off", "globex": "on", "initech": "off"},
    }


# -- card networks (a child of payments) and each user's own choices --------------------------


def test_the_dashboard_shows_the_card_network_under_the_payment_method(
    demo: dict[str, Tenant],
) -> None:
    html = site(demo["globex"], "owner").get("/").content.decode()  # pays through Stripe
    assert '<strong id="card-network-strategy">Visa</strong>' in html
    assert "in force under <code>payments=stripe</code>" in fragment(html, "card-network-parent")
    initech = site(demo["initech"], "owner")  # pays by invoice
    initech.post("/settings/", settings_form(initech, payments="invoice"))
    html = initech.get("/").content.decode()
    assert "No card network is available under payments=invoice." in fragment(
        html, "card-network-strategy"
    )
    assert "not valid under payments=invoice" in fragment(html, "card-network-visa")


def test_the_owner_chooses_a_card_network_with_the_card_gateway(demo: dict[str, Tenant]) -> None:
    initech = demo["initech"]
    owner = site(initech, "owner")
    owner.post("/settings/", settings_form(owner, payments="invoice"))
    html = owner.get("/settings/").content.decode()
    networks = fragment(html, "settings-card_networks")
    assert 'data-switchyard-parent="payments"' in networks
    assert "/static/engine/dependent_choices.js" in html
    # Under invoice no network serves; choosing card and amex together is accepted...
    response = owner.post("/settings/", settings_form(owner, payments="card", card_networks="amex"))
    assert response.status_code == 302
    with tenant_context(initech):
        stored = dict(Selection.objects.filter(user=None).values_list("registry", "slug"))
    assert (stored["payments"], stored["card_networks"]) == ("card", "amex")
    # ...a network with invoice is not, and nothing is stored.
    response = owner.post(
        "/settings/", settings_form(owner, payments="invoice", card_networks="visa")
    )
    assert response.status_code == 400
    assert "is not valid under payments=invoice" in fragment(
        response.content.decode(), "settings-card_networks"
    )
    with tenant_context(initech):
        assert Selection.objects.get(registry="payments", user=None).slug == "card"


def test_a_member_chooses_their_own_export_format(demo: dict[str, Tenant]) -> None:
    acme = demo["acme"]
    member = site(acme, "member")
    html = member.get("/").content.decode()
    assert 'id="mine-link"' in html and 'id="settings-link"' not in html
    response = member.get("/settings/mine/")
    assert response.status_code == 200
    assert "exports" in response.context["form"].fields
    assert "payments" not in response.context["form"].fields  # not user_selectable
    mine = settings_form(member, "/settings/mine/", exports="json")
    response = member.post("/settings/mine/", mine, follow=True)
    assert response.redirect_chain == [("/settings/mine/", 302)]
    assert "Saved Exports → JSON." in response.content.decode()
    assert download(member)["Content-Type"] == "application/json"
    assert download(site(acme, "owner"))["Content-Type"].startswith("text/csv")  # the tenant's
    with tenant_context(acme):
        mine = Selection.objects.get(registry="exports")
        assert (mine.slug, mine.user.username) == ("json", "member")
