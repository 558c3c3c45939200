"""Tenant leaves for the condition algebra: ``Plan``, ``PlanAtLeast`` and ``TenantIs``.

Text form: ``plan:pro``, ``plan:pro,enterprise`` (any of them), ``plan:>=pro`` (pro or a later
plan of ``SWITCHYARD["PLANS"]``) and ``tenant:acme,globex`` (schema names). Names are checked
for shape when the leaf is built; whether a plan exists is checked when the leaf is evaluated,
because conditions are built at import time and settings may differ per test
(``override_settings``). An unknown plan then makes the leaf *unknown* (not met, logged once,
shown with a suggestion in ``explain()``), and the system check ``switchyard.E103`` reports it
for every registered strategy at start-up.
"""

from __future__ import annotations

from typing import Any, ClassVar

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind
from tenants.plans import UnknownPlan, name_tokens, plan_rank, plans, validate_plan
from tenants.tenant_model import plan_of, plan_or_none

AT_LEAST = ">="


class MissingPlan(AttributeError):
    """The context's tenant has no plan (e.g. a django-tenants ``FakeTenant``)."""


def tenant_plan(tenant: Any) -> str:
    """Return the plan of ``tenant``; an error names the tenant when it has none or it's unknown.

    The plan is read through ``SWITCHYARD["TENANT_PLAN"]`` (``tenants.tenant_model``).
    """
    plan = plan_of(tenant)
    if not isinstance(plan, str):
        raise MissingPlan(
            f"The context's tenant {tenant!r} has no plan (SWITCHYARD['TENANT_PLAN'] gave "
            f"{plan!r}): build the context with the tenant model instance (request.tenant), "
            "not a schema name or schema_context's FakeTenant"
        )
    if plan not in plans():
        raise UnknownPlan(plan, tenant=getattr(tenant, "schema_name", repr(tenant)))
    return plan


def _tenant_note(context: Context) -> str:
    tenant = context.tenant
    if tenant is None:
        return "no tenant in the context"
    plan = plan_or_none(tenant)
    name = getattr(tenant, "schema_name", repr(tenant))
    return f"tenant {name} is on plan {plan!r}" if plan is not None else f"tenant {name}"


@register_kind
class Plan(Leaf):
    """Met when the context's tenant is on one of the named plans; order does not matter."""

    __slots__ = ()
    kind: ClassVar[str] = "plan"

    def __init__(self, *names: str) -> None:
        super().__init__(*name_tokens(names, "Plan()"))

    @property
    def names(self) -> tuple[str, ...]:
        """The plans that meet this condition, sorted."""
        return self.args

    def check(self, context: Context) -> bool:
        for name in self.args:
            validate_plan(name)
        if context.tenant is None:
            return False
        return tenant_plan(context.tenant) in self.args

    def detail(self, context: Context) -> str:
        return _tenant_note(context)

    def argument(self) -> str:
        return ",".join(self.args)

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        if argument.startswith(AT_LEAST):
            return PlanAtLeast(argument[len(AT_LEAST) :])
        return cls(*argument.split(","))


class PlanAtLeast(Leaf):
    """Met when the context's tenant is on the named plan or a later one in ``PLANS``."""

    # Shares the text kind "plan" (``plan:>=pro``): Plan.from_argument builds it.
    __slots__ = ()
    kind: ClassVar[str] = "plan"

    def __init__(self, name: str) -> None:
        (only,) = name_tokens([name], "PlanAtLeast()")
        super().__init__(only)

    @property
    def name(self) -> str:
        """The smallest plan that meets this condition."""
        return str(self.args[0])

    def check(self, context: Context) -> bool:
        minimum = plan_rank(self.name)
        if context.tenant is None:
            return False
        return plan_rank(tenant_plan(context.tenant)) >= minimum

    def detail(self, context: Context) -> str:
        note = _tenant_note(context)
        if context.tenant is not None and self.name in plans():
            note += f"; needs {' or '.join(plans()[plan_rank(self.name) :])}"
        return note

    def argument(self) -> str:
        return AT_LEAST + self.name

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        return Plan.from_argument(argument)


@register_kind
class TenantIs(Leaf):
    """Met when the context's tenant is one of the named schemas; order does not matter."""

    __slots__ = ()
    kind: ClassVar[str] = "tenant"

    def __init__(self, *schema_names: str) -> None:
        super().__init__(*name_tokens(schema_names, "TenantIs()"))

    @property
    def schema_names(self) -> tuple[str, ...]:
        """The schemas that meet this condition, sorted."""
        return self.args

    def check(self, context: Context) -> bool:
        tenant = context.tenant
        return tenant is not None and getattr(tenant, "schema_name", None) in self.args

    def detail(self, context: Context) -> str:
        tenant = context.tenant
        if tenant is None:
            return "no tenant in the context"
        return f"tenant is {getattr(tenant, 'schema_name', tenant)!r}"

    def argument(self) -> str:
        return ",".join(self.args)

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        return cls(*argument.split(","))
