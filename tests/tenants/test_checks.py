"""The tenants app's system checks, run through Django's check framework."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from engine import Registry, Strategy
from engine.testing import isolated_registries
from tenants.checks import plan_names
from tenants.conditions import Plan, PlanAtLeast, TenantIs
from tenants.flags import PlatformFlag
from tenants.models import Tenant


def messages(check_id: str, **kwargs: Any) -> list[str]:
    return [m.msg for m in run_checks(**kwargs) if m.id == check_id]


OURS = {
    "switchyard.E101",
    "switchyard.E102",
    "switchyard.E103",
    "switchyard.E105",
    "switchyard.W101",
    "switchyard.W102",
}


def test_the_example_site_passes_every_tenants_check(db: None) -> None:
    assert [m for m in run_checks(databases=["default"]) if m.id in OURS] == []


@pytest.mark.parametrize(
    ("plans", "problem"),
    [
        ([], 'SWITCHYARD["PLANS"] is empty: list at least one plan.'),
        ("pro", 'SWITCHYARD["PLANS"] must be a list of plan names'),
        (["free", "free"], "lists the plan 'free' twice"),
        (["free", "pro plus"], "invalid plan name 'pro plus'"),
    ],
)
def test_e101_a_malformed_plans_setting(plans: object, problem: str) -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "PLANS": plans}):
        found = messages("switchyard.E101")
    assert len(found) == 1 and problem in found[0]


def test_e102_stored_plans_the_setting_does_not_list(free_tenant: Tenant) -> None:
    Tenant.objects.filter(pk=free_tenant.pk).update(plan="legacy")
    PlatformFlag.objects.create(name="beta", plans=["gold"])
    found = messages("switchyard.E102", databases=["default"])
    assert len(found) == 2
    assert found[0].startswith("Tenant 'acme' is on plan 'legacy': Unknown plan 'legacy'.")
    assert found[1].startswith("Platform flag 'beta' targets plan 'gold'")
    assert messages("switchyard.E102") == []  # database checks only run when asked


def test_e103_conditions_naming_unknown_plans() -> None:
    with isolated_registries():

        class Reports(Registry):
            key = "reports"

        class Basic(Strategy):
            registry = Reports
            slug = "basic"

        class Fancy(Strategy):
            registry = Reports
            slug = "fancy"
            condition = ~TenantIs("acme") & (Plan("pro") | PlanAtLeast("entreprise"))

        (found,) = messages("switchyard.E103")
    assert found == (
        "Strategy 'fancy' of registry 'reports' has the condition ~tenant:acme & (plan:pro | "
        "plan:>=entreprise), naming the unknown plan 'entreprise'. Did you mean 'enterprise'?"
    )


def test_plan_names_walks_the_whole_tree() -> None:
    condition = ~(Plan("pro", "free") & TenantIs("x")) | PlanAtLeast("enterprise")
    assert plan_names(condition) == {"pro", "free", "enterprise"}


def test_w101_platform_flags_with_a_schema_prefixed_waffle_cache() -> None:
    with override_settings(WAFFLE_CACHE_NAME="default"):
        (found,) = messages("switchyard.W101")
    assert "a platform flag saved in the public admin would stay stale" in found
    assert messages("switchyard.W101") == []


@pytest.mark.parametrize(
    ("hook", "problem"),
    [
        ("tier", "the tenant model switchyard_tenants.Tenant has no attribute 'tier'"),
        ("tenants.plans.nothing", "'tenants.plans.nothing', which cannot be imported"),
        ("tenants.plans.NAME_TOKEN", "a Pattern, not a function"),
        (5, 'SWITCHYARD["TENANT_PLAN"] is 5'),
    ],
)
def test_e105_a_plan_hook_that_cannot_work(hook: object, problem: str) -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "TENANT_PLAN": hook}):
        (message,) = messages("switchyard.E105")
    assert problem in message


def test_e105_accepts_an_attribute_or_a_function() -> None:
    for hook in ("plan", "name", "tenants.plans.plans"):
        with override_settings(SWITCHYARD={"CACHE": "switchyard", "TENANT_PLAN": hook}):
            assert messages("switchyard.E105") == []


def test_w102_the_tenants_app_by_its_module_name_in_shared_apps(settings: Any) -> None:
    listed = list(settings.SHARED_APPS)
    assert messages("switchyard.W102") == []
    by_module = ["tenants" if app == "tenants.apps.TenantsConfig" else app for app in listed]
    with override_settings(SHARED_APPS=by_module):
        (message,) = messages("switchyard.W102")
    assert "only from the AppConfig path" in message
