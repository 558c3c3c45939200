"""SWITCHYARD["PLANS"]: ordered plans, validation with suggestions, the Tenant.plan field."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from tenants.models import Tenant, default_plan
from tenants.plans import UnknownPlan, plan_rank, plans, plans_problems, validate_plan

CUSTOM = {"CACHE": "switchyard", "PLANS": ["starter", "team", "scale"]}


def test_default_plans_are_free_pro_enterprise_smallest_first() -> None:
    assert plans() == ("free", "pro", "enterprise")
    assert [plan_rank(name) for name in plans()] == [0, 1, 2]


def test_plans_follow_override_settings() -> None:
    with override_settings(SWITCHYARD=CUSTOM):
        assert plans() == ("starter", "team", "scale")
        assert default_plan() == "starter"
    assert plans() == ("free", "pro", "enterprise")


def test_unknown_plan_names_the_valid_plans_and_suggests_one() -> None:
    with pytest.raises(UnknownPlan) as caught:
        validate_plan("entreprise")
    message = caught.value.messages[0]
    assert "Unknown plan 'entreprise'. Did you mean 'enterprise'?" in message
    assert "free, pro, enterprise" in message
    assert caught.value.code == "unknown_plan"
    assert isinstance(caught.value, ValidationError)


def test_plan_rank_of_an_unknown_plan_raises() -> None:
    with pytest.raises(UnknownPlan, match="'gold'"):
        plan_rank("gold")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("free", "must be a list"),
        (None, "must be a list"),
        ([], "is empty"),
        (["free", "free"], "lists the plan 'free' twice"),
        (["free", "pro plus"], "invalid plan name 'pro plus'"),
        (["free", 3], "invalid plan name 3"),
        (["a,b"], "invalid plan name 'a,b'"),
    ],
)
def test_malformed_plans_settings_are_described(value: object, problem: str) -> None:
    assert any(problem in text for text in plans_problems(value))


def test_well_formed_plans_have_no_problems() -> None:
    assert plans_problems(["free", "pro", "enterprise"]) == []
    assert plans_problems(("basic", "team-2", "v1.5")) == []


def test_tenant_plan_is_validated_by_full_clean(db: None) -> None:
    tenant = Tenant(schema_name="someone", name="Someone", plan="prro")
    with pytest.raises(ValidationError) as caught:
        tenant.full_clean()
    (message,) = caught.value.message_dict["plan"]
    assert "Did you mean 'pro'?" in message
    tenant.plan = "pro"
    tenant.full_clean()  # valid now


def test_a_new_tenant_starts_on_the_smallest_plan() -> None:
    assert Tenant(schema_name="x", name="X").plan == "free"
    with override_settings(SWITCHYARD=CUSTOM):
        assert Tenant(schema_name="x", name="X").plan == "starter"
