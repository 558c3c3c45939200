"""``tenants.tenant_model``: the plan hook, plan_or_none, tenant_name and plan_field."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from tenants.models import Tenant
from tenants.tenant_model import plan_field, plan_of, plan_or_none, tenant_name


def hook(value: object) -> Any:
    return override_settings(SWITCHYARD={"CACHE": "switchyard", "TENANT_PLAN": value})


def shouted(tenant: Any) -> str:
    return str(tenant.name).upper()


def broken(tenant: Any) -> str:
    raise RuntimeError(f"no plan service for {tenant.schema_name}")


def test_the_default_hook_reads_the_plan_field() -> None:
    tenant = Tenant(schema_name="acme", name="Acme", plan="pro")
    assert (plan_of(tenant), plan_field()) == ("pro", "plan")


def test_an_attribute_hook_reads_that_attribute() -> None:
    tenant = Tenant(schema_name="acme", name="enterprise", plan="pro")
    with hook("name"):
        assert (plan_of(tenant), plan_field()) == ("enterprise", "name")


def test_a_function_hook_is_called_with_the_tenant() -> None:
    tenant = Tenant(schema_name="acme", name="Acme", plan="pro")
    with hook("tests.tenants.test_tenant_model.shouted"):
        assert plan_field() is None
        assert plan_of(tenant) == "ACME"
    with hook(lambda tenant: tenant.schema_name[::-1]):
        assert plan_of(tenant) == "emca"


def test_a_hook_that_cannot_be_imported_raises_improperly_configured() -> None:
    with hook("tests.tenants.nowhere.plan_of"), pytest.raises(ImproperlyConfigured):
        plan_of(Tenant(schema_name="acme"))


def test_plan_or_none_logs_a_failing_hook_once(caplog: pytest.LogCaptureFixture) -> None:
    tenant = Tenant(schema_name="acme_logged_once")
    with hook("tests.tenants.test_tenant_model.broken"), caplog.at_level(logging.WARNING):
        assert plan_or_none(tenant) is None
        assert plan_or_none(tenant) is None
    logged = [r.getMessage() for r in caplog.records if "no plan service" in r.getMessage()]
    assert len(logged) == 1
    assert 'SWITCHYARD["TENANT_PLAN"] failed' in logged[0]


def test_tenant_name_is_the_name_field_else_str() -> None:
    assert tenant_name(Tenant(schema_name="acme", name="Acme")) == "Acme"

    class Nameless:
        def __str__(self) -> str:
            return "nameless tenant"

    assert tenant_name(Nameless()) == "nameless tenant"
