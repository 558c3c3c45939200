"""A disabled strategy on every surface: the forms, the API, the rendered explanation."""

from __future__ import annotations

import json

from django.template.loader import render_to_string
from django.test import Client
from django_tenants.utils import tenant_context

from conditions import Context
from engine import get_registry
from engine.forms import SelectionsForm
from engine.models import Selection
from engine.platform.changes import set_status
from tenants.models import Tenant
from tests.helpers import make_user, store

SELECTION = "/api/switchyard/registries/payments/selection/"
PAYMENTS = "/api/switchyard/registries/payments/"


def disable_invoice() -> None:
    set_status("payments.invoice", "disabled", note="provider outage", via="api")


def test_the_form_keeps_the_stored_choice_with_the_platforms_note(
    enterprise_tenant: Tenant,
) -> None:
    store(enterprise_tenant, "invoice")
    disable_invoice()
    with tenant_context(enterprise_tenant):
        owner = make_user(None, "owner", superuser=True)
        form = SelectionsForm(Context(tenant=enterprise_tenant, user=owner))
        field = form["payments"].field  # bound: it knows the current (stored) choice
        notes = {slug: label.note for slug, label in field.choices}
        assert notes["invoice"] == "current choice, disabled by the platform: provider outage"
        assert "invoice" not in [s.slug for s in field.strategies()]
        # Keeping it unchanged is allowed (nothing is written); choosing it anew is not.
        unchanged = SelectionsForm(
            Context(tenant=enterprise_tenant, user=owner),
            {key: form[key].value() for key in form.fields},
        )
        assert unchanged.is_valid(), unchanged.errors
        entry = next(e for e in form.entries if e.key == "payments")
        (invoice,) = [u for u in entry.unavailable if u.slug == "invoice"]
        assert invoice.platform_text == "disabled by the platform: provider outage"
        html = render_to_string("engine/explanation.html", {"explanation": entry.explanation})
        assert 'data-status="disabled"' in html and "provider outage" in html


def test_the_api_shows_the_status_and_refuses_a_disabled_choice(
    enterprise_tenant: Tenant,
) -> None:
    disable_invoice()
    with tenant_context(enterprise_tenant):
        owner = make_user(None, "owner", superuser=True)
    client = Client(HTTP_HOST="initech.localhost")
    with tenant_context(enterprise_tenant):
        client.force_login(owner)
    data = client.get(PAYMENTS).json()
    invoice = next(s for s in data["strategies"] if s["slug"] == "invoice")
    assert (invoice["available"], invoice["status"], invoice["note"]) == (
        False,
        "disabled",
        "provider outage",
    )
    response = client.put(
        SELECTION, json.dumps({"slug": "invoice"}), content_type="application/json"
    )
    assert response.status_code == 400
    assert "disabled by the platform (provider outage)" in json.dumps(response.json())
    with tenant_context(enterprise_tenant):
        assert not Selection.objects.exists()


def test_the_registry_select_refuses_with_a_code(enterprise_tenant: Tenant) -> None:
    disable_invoice()
    payments = get_registry("payments")
    try:
        payments.select("invoice", Context(tenant=enterprise_tenant))
    except Exception as error:
        assert getattr(error, "code", None) == "disabled_by_platform"
    else:  # pragma: no cover - the assertion below explains
        raise AssertionError("selecting a disabled strategy was accepted")


def test_the_audit_of_inactive_selections_names_the_platform(enterprise_tenant: Tenant) -> None:
    from engine.audit import audit_selections

    store(enterprise_tenant, "invoice")
    assert audit_selections(enterprise_tenant).inactive == []
    disable_invoice()
    (inactive,) = audit_selections(enterprise_tenant).inactive
    assert (inactive.slug, inactive.why, inactive.detail) == (
        "invoice",
        "disabled_by_platform",
        "disabled by the platform: provider outage",
    )


def test_the_async_api_sees_the_platform_state(enterprise_tenant: Tenant) -> None:
    from asgiref.sync import async_to_sync

    from engine import StrategyNamespace

    store(enterprise_tenant, "invoice")
    disable_invoice()

    async def view() -> tuple[str, list[str], str]:
        namespace = StrategyNamespace(Context(tenant=enterprise_tenant))
        resolution = await namespace.aresolution("payments")
        offered = [strategy.slug for strategy in await namespace.aavailable("payments")]
        explained = await namespace.aexplain("payments")
        return resolution.slug, offered, explained["invoice"].platform_text

    # async_to_sync: the view's thread hops come back to this thread and its transaction.
    assert async_to_sync(view)() == (
        "card",
        ["card"],
        "disabled by the platform: provider outage",
    )
