"""Plan, PlanAtLeast and TenantIs: evaluation on real tenants, explanations, text form."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django_tenants.postgresql_backend.base import FakeTenant

from conditions import Context, Flag, parse
from conditions.kinds import kind_class
from conditions.text import ConditionSyntaxError
from tenants.conditions import MissingPlan, Plan, PlanAtLeast, TenantIs
from tenants.models import Tenant
from tenants.plans import UnknownPlan


def test_plan_is_met_for_a_tenant_on_one_of_its_plans(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    paid = Plan("pro", "enterprise")
    assert not paid.evaluate(Context(tenant=free_tenant))
    assert paid.evaluate(Context(tenant=pro_tenant))
    assert paid.evaluate(Context(tenant=enterprise_tenant))


def test_plan_at_least_follows_the_order_of_plans(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    at_least_pro = PlanAtLeast("pro")
    assert not at_least_pro.evaluate(Context(tenant=free_tenant))
    assert at_least_pro.evaluate(Context(tenant=pro_tenant))
    assert at_least_pro.evaluate(Context(tenant=enterprise_tenant))
    assert PlanAtLeast("free").evaluate(Context(tenant=free_tenant))


def test_plan_order_follows_the_setting(pro_tenant: Tenant) -> None:
    reordered = {"CACHE": "switchyard", "PLANS": ["pro", "free", "enterprise"]}
    with override_settings(SWITCHYARD=reordered):
        assert PlanAtLeast("pro").evaluate(Context(tenant=pro_tenant))
        assert not PlanAtLeast("free").evaluate(Context(tenant=pro_tenant))


def test_tenant_is_matches_schema_names(free_tenant: Tenant, pro_tenant: Tenant) -> None:
    condition = TenantIs("globex", "initech")
    assert condition.evaluate(Context(tenant=pro_tenant))
    assert not condition.evaluate(Context(tenant=free_tenant))
    assert condition.schema_names == ("globex", "initech")


def test_without_a_tenant_nothing_is_met_and_the_explanation_says_why() -> None:
    context = Context()
    for condition in (Plan("pro"), PlanAtLeast("free"), TenantIs("acme")):
        assert not condition.evaluate(context)
        explanation = condition.explain(context)
        assert explanation.error is None
        assert explanation.detail == "no tenant in the context"


def test_explanations_name_the_tenant_and_its_plan(free_tenant: Tenant) -> None:
    context = Context(tenant=free_tenant)
    assert Plan("pro").explain(context).detail == "tenant acme is on plan 'free'"
    detail = PlanAtLeast("pro").explain(context).detail
    assert detail == "tenant acme is on plan 'free'; needs pro or enterprise"
    assert TenantIs("globex").explain(context).detail == "tenant is 'acme'"


def test_unknown_plan_in_a_condition_fails_closed_with_a_suggestion(
    enterprise_tenant: Tenant,
) -> None:
    context = Context(tenant=enterprise_tenant)
    for condition in (Plan("entreprise"), PlanAtLeast("entreprise")):
        assert not condition.evaluate(context)
        assert not (~condition).evaluate(context)  # unknown, not false: ~ does not open it
        explanation = condition.explain(context)
        assert isinstance(explanation.error, UnknownPlan)
        assert "Did you mean 'enterprise'?" in str(explanation)


def test_unknown_plan_raises_in_strict_mode(pro_tenant: Tenant) -> None:
    with pytest.raises(UnknownPlan):
        Plan("gold").evaluate(Context(tenant=pro_tenant, strict=True))


def test_a_tenant_on_an_unconfigured_plan_is_an_error_naming_it(pro_tenant: Tenant) -> None:
    pro_tenant.plan = "legacy"
    with pytest.raises(UnknownPlan, match="Tenant 'globex' is on an unknown plan"):
        PlanAtLeast("free").evaluate(Context(tenant=pro_tenant, strict=True))


def test_a_schema_only_tenant_has_no_plan_and_says_so() -> None:
    context = Context(tenant=FakeTenant("acme"), strict=True)
    with pytest.raises(MissingPlan, match="has no plan"):
        Plan("free").evaluate(context)
    assert TenantIs("acme").evaluate(context)  # the schema name is all TenantIs needs


@pytest.mark.parametrize(
    ("build", "problem"),
    [
        (lambda: Plan(), "Plan() needs at least one name"),
        (lambda: Plan("pro plus"), "invalid name 'pro plus'"),
        (lambda: Plan("a,b"), "invalid name 'a,b'"),
        (lambda: Plan(3), "invalid name 3"),
        (lambda: PlanAtLeast(""), "invalid name ''"),
        (lambda: TenantIs(), "TenantIs() needs at least one name"),
        (lambda: TenantIs("-acme"), "invalid name '-acme'"),
    ],
)
def test_malformed_names_are_rejected_when_built(build: object, problem: str) -> None:
    with pytest.raises(ValueError) as caught:
        build()  # type: ignore[operator]
    assert problem in str(caught.value)


def test_names_are_a_set_so_order_and_repeats_do_not_matter() -> None:
    assert Plan("pro", "enterprise") == Plan("enterprise", "pro", "pro")
    assert hash(Plan("pro", "enterprise")) == hash(Plan("enterprise", "pro"))
    assert TenantIs("b", "a") == TenantIs("a", "b")
    assert Plan("pro") != PlanAtLeast("pro")


@pytest.mark.parametrize(
    ("condition", "text"),
    [
        (Plan("pro"), "plan:pro"),
        (Plan("pro", "enterprise"), "plan:enterprise,pro"),
        (PlanAtLeast("pro"), "plan:>=pro"),
        (TenantIs("acme", "globex"), "tenant:acme,globex"),
        (Plan("pro") | PlanAtLeast("enterprise"), "plan:pro | plan:>=enterprise"),
        (~Plan("free") & TenantIs("acme"), "~plan:free & tenant:acme"),
        ((Plan("pro") | TenantIs("acme")) & Flag("beta"), "(plan:pro | tenant:acme) & flag:beta"),
    ],
)
def test_text_form_round_trips(condition: object, text: str) -> None:
    assert str(condition) == text
    assert parse(text) == condition
    assert parse(str(parse(text))) == condition


def test_plan_and_tenant_kinds_are_registered() -> None:
    assert kind_class("plan") is Plan
    assert kind_class("tenant") is TenantIs
    assert isinstance(parse("plan:>=pro"), PlanAtLeast)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("plan:", "Expected an argument"),
        ("plan:pro,,enterprise", "invalid name ''"),
        ("plan:>=", "invalid name ''"),
        ("tenant:", "Expected an argument"),
    ],
)
def test_malformed_text_points_at_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse(text)
    assert problem in str(caught.value)
