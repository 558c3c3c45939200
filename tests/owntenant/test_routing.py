"""Routing by host and plan conditions, with the plan read through SWITCHYARD["TENANT_PLAN"]."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient
from django.test import override_settings

from conditions import Context
from tenants.conditions import Plan
from tenants.tenant_model import plan_of, tenant_name
from tests.owntenant.customers.models import Client
from tests.owntenant.tenants.strategies import SupportChannels

CALLABLE_HOOK = {
    "CACHE": "switchyard",
    "STALENESS_BOUND": 3600,
    "TENANT_PLAN": "tests.owntenant.customers.plans.plan_of",
}


def support(host: str) -> dict[str, Any]:
    response = HttpClient(HTTP_HOST=host).get("/support/")
    assert response.status_code == 200
    return dict(response.json())


def test_each_host_routes_to_its_client_with_its_plan(db: None) -> None:
    assert support("acme.localhost") == {"tenant": "acme", "plan": "free", "support": "email"}
    hooli = support("hooli.localhost")
    assert hooli == {"tenant": "hooli", "plan": "enterprise", "support": "email"}
    assert HttpClient(HTTP_HOST="nobody.localhost").get("/support/").status_code == 404


def test_a_warm_request_costs_no_query_with_the_projects_model(
    db: None, django_assert_num_queries: Any
) -> None:
    support("acme.localhost")  # routing entry (Client.from_db) and selections cached
    with django_assert_num_queries(0):
        assert support("acme.localhost")["plan"] == "free"


def test_plan_conditions_read_the_hooks_attribute(acme: Client, hooli: Client) -> None:
    assert [s.slug for s in SupportChannels.available(Context(tenant=acme))] == ["email"]
    available = {s.slug for s in SupportChannels.available(Context(tenant=hooli))}
    assert available == {"concierge", "email", "phone"}
    text = str(Plan("enterprise").explain(Context(tenant=acme)))
    assert "tenant acme is on plan 'free'" in text


def test_a_changed_tier_reaches_the_next_request(
    acme: Client, django_capture_on_commit_callbacks: Any
) -> None:
    assert support("acme.localhost")["plan"] == "free"
    with django_capture_on_commit_callbacks(execute=True):
        Client.objects.filter(pk=acme.pk).update(tier="pro")  # TenantQuerySet forgets the host
    assert support("acme.localhost")["plan"] == "pro"
    with django_capture_on_commit_callbacks(execute=True):
        acme.tier = "enterprise"
        acme.save()  # the post_save receiver, connected to the project's model
    assert support("acme.localhost") == {
        "tenant": "acme",
        "plan": "enterprise",
        "support": "email",
    }


def test_a_function_hook_decides_the_plan(acme: Client) -> None:
    acme.vip = True
    with override_settings(SWITCHYARD=CALLABLE_HOOK):
        assert plan_of(acme) == "enterprise"
        assert Plan("enterprise").evaluate(Context(tenant=acme))
    assert plan_of(acme) == "free"  # the attribute again
    assert not Plan("enterprise").evaluate(Context(tenant=acme))


def test_a_model_without_a_name_field_shows_its_str(acme: Client) -> None:
    assert tenant_name(acme) == "Acme"


@pytest.mark.parametrize(
    "hook", ["plan", "tests.owntenant.customers.plans.missing", "tests.owntenant.customers.plans"]
)
def test_a_broken_hook_fails_closed_never_a_500(acme: Client, hook: str) -> None:
    with override_settings(SWITCHYARD={**CALLABLE_HOOK, "TENANT_PLAN": hook}):
        assert not Plan("free").evaluate(Context(tenant=acme))
        assert support("acme.localhost")["support"] == "email"
