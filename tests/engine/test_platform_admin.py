"""The platform admin of strategy states: public site only, bulk actions with a note, priority,
class loads, history; hostile input is a 4xx or a message, never a 500 or a stored value."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from engine.models import StrategyState, StrategyStateChange
from tenants.models import Tenant

CHANGELIST = "/admin/engine/strategystate/"


@pytest.fixture
def platform_admin(public_tenant: Tenant) -> Client:
    with schema_context("public"):
        admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    return client


def pks(*slugs: str) -> list[str]:
    rows = StrategyState.objects.filter(registry="payments", slug__in=slugs)
    return [str(pk) for pk in rows.values_list("pk", flat=True)]


def act(client: Client, action: str, *slugs: str, note: str = "") -> Any:
    data = {"action": action, "_selected_action": pks(*slugs), "note": note, "index": 0}
    return client.post(CHANGELIST, data, follow=True)


def status(slug: str) -> tuple[str, str]:
    row = StrategyState.objects.get(registry="payments", slug=slug)
    return row.status, row.note


def test_the_list_shows_every_strategy_by_registry_and_whether_its_class_loads(
    platform_admin: Client,
) -> None:
    StrategyState.objects.create(registry="payments", slug="gone")
    page = platform_admin.get(CHANGELIST, {"registry": "payments"})
    assert page.status_code == 200
    text = page.content.decode()
    for label in ("Credit card", "Invoice (net 30)", "Crypto (beta)", "Class loads", "gone"):
        assert label in text
    assert text.count('alt="False"') == 1  # only "gone" has no class


def test_disable_reserve_and_enable_in_bulk_with_a_note(platform_admin: Client) -> None:
    response = act(platform_admin, "make_disabled", "crypto", "invoice", note="provider outage")
    assert "Now disabled: payments.crypto, payments.invoice." in response.content.decode()
    assert status("crypto") == status("invoice") == ("disabled", "provider outage")
    act(platform_admin, "make_reserve", "invoice")
    act(platform_admin, "make_active", "crypto")
    assert status("crypto") == ("active", "")
    assert status("invoice")[0] == "reserve"
    change = StrategyStateChange.objects.filter(slug="crypto").first()
    assert change is not None and (change.via, change.changed_by) == ("admin", "admin:root")
    history = platform_admin.get(f"{CHANGELIST}{pks('crypto')[0]}/change/").content.decode()
    assert "status &#x27;disabled&#x27; → &#x27;active&#x27;" in history
    assert "provider outage" in history


def test_priority_up_and_down_reorder_the_fallback(platform_admin: Client) -> None:
    act(platform_admin, "priority_up", "crypto")  # crypto (30) moves before invoice (20)
    assert StrategyState.objects.get(registry="payments", slug="crypto").priority == 19
    act(platform_admin, "priority_down", "card")  # card (10) after stripe (15)
    assert StrategyState.objects.get(registry="payments", slug="card").priority == 16
    page = platform_admin.get(CHANGELIST, {"registry": "payments"}).content.decode()
    assert "19 (override)" in page


def test_the_change_form_is_validated_and_audited(platform_admin: Client) -> None:
    url = f"{CHANGELIST}{pks('crypto')[0]}/change/"
    form = {"status": "disabled", "priority": "", "note": "x" * 501, "scope": "plan:("}
    page = platform_admin.post(url, form)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Ensure this value has at most 500 characters" in text
    assert "is not a condition" in text
    assert status("crypto") == ("active", "")
    form.update(note="outage", scope="plan:free")
    assert platform_admin.post(url, form).status_code == 302
    assert status("crypto") == ("disabled", "outage")
    assert StrategyStateChange.objects.filter(slug="crypto", via="admin").exists()


@pytest.mark.parametrize("note", ["out\x00age", "x" * 100_000])
def test_hostile_notes_in_an_action_are_an_error_message(platform_admin: Client, note: str) -> None:
    response = act(platform_admin, "make_disabled", "crypto", note=note)
    assert response.status_code == 200
    assert "Not changed: payments.crypto: The note" in response.content.decode()
    assert status("crypto") == ("active", "")


@pytest.mark.parametrize("query", ["q=%00", "registry=%00"])
def test_control_characters_in_searches_and_filters_are_a_400(
    platform_admin: Client, query: str
) -> None:
    platform_admin.raise_request_exception = False
    assert platform_admin.get(f"{CHANGELIST}?{query}").status_code == 400


def test_bad_selected_ids_are_a_400(platform_admin: Client) -> None:
    platform_admin.raise_request_exception = False
    data = {"action": "make_disabled", "_selected_action": ["1\x00"], "index": 0}
    assert platform_admin.post(CHANGELIST, data).status_code == 400


def test_a_tenants_admin_does_not_offer_it(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        owner = get_user_model().objects.create_superuser("owner", "o@example.com", "pw")
    tenant_site = Client(HTTP_HOST="acme.localhost")
    with tenant_context(free_tenant):
        tenant_site.force_login(owner)
    assert CHANGELIST not in tenant_site.get("/admin/").content.decode()
    assert tenant_site.get(CHANGELIST).status_code in (403, 404)
