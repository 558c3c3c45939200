"""The platform page, the reports, the admin and the checks with the project's own model."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.checks import run_checks
from django.core.management import call_command
from django.test import Client as HttpClient
from django.test import override_settings
from django_tenants.utils import schema_context

from engine.registry import get_registry
from tenants.flags import PlatformFlag
from tenants.reports import strategies_in_force
from tests.owntenant.customers.models import Client
from tests.owntenant.test_routing import CALLABLE_HOOK


@pytest.fixture
def platform_admin(db: None) -> HttpClient:
    with schema_context("public"):
        admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = HttpClient(HTTP_HOST="localhost")
    client.force_login(admin)
    return client


def _ours(messages: list[Any]) -> list[str]:
    return [
        message.id
        for message in messages
        if message.id.startswith("switchyard.") and not message.is_silenced()
    ]


def test_the_report_reads_plans_through_the_hook(acme: Client, hooli: Client) -> None:
    report = {row.schema_name: row for row in strategies_in_force([acme, hooli])}
    assert (report["acme"].name, report["acme"].plan) == ("Acme", "free")
    assert report["hooli"].plan == "enterprise"


def test_the_platform_page_lists_clients_and_flag_states(
    platform_admin: HttpClient, hooli: Client
) -> None:
    PlatformFlag.objects.create(name="beta", plans=["enterprise"])
    with schema_context("hooli"):
        get_registry("support").select("concierge", context=_context(hooli))
    data = platform_admin.get("/platform/?format=json").json()
    rows = {row["tenant"]: row for row in data["tenants"]}
    assert set(rows) == {"acme", "hooli"}
    assert rows["hooli"]["plan"] == "enterprise"
    assert rows["hooli"]["registries"][0]["slug"] == "concierge"
    (flag,) = data["flags"]
    assert flag["tenants"] == {"acme": "off", "hooli": "on"}
    page = platform_admin.get("/platform/")
    assert page.status_code == 200
    assert "/admin/switchyard_tenants/platformflag/" in page.content.decode()


def _context(tenant: Client) -> Any:
    from conditions import Context

    return Context(tenant=tenant)


def test_the_admin_pages_load(platform_admin: HttpClient) -> None:
    index = platform_admin.get("/admin/").content.decode()
    for path in ("/admin/switchyard_tenants/platformflag/", "/admin/customers/client/"):
        assert path in index
        assert platform_admin.get(path).status_code == 200
    form = platform_admin.get("/admin/switchyard_tenants/platformflag/add/").content.decode()
    assert 'value="acme"' in form and 'value="hooli"' in form
    # No admin for the ready-made model: it has no table here.
    assert platform_admin.get("/admin/switchyard_tenants/tenant/").status_code == 404


def test_the_checks_pass(db: None) -> None:
    assert _ours(run_checks(include_deployment_checks=False, databases=["default"])) == []
    call_command("check", "--database=default", "--fail-level=WARNING")


def test_a_stored_plan_outside_plans_is_reported(acme: Client) -> None:
    Client.objects.filter(pk=acme.pk).update(tier="gold")
    (error,) = [m for m in run_checks(databases=["default"]) if m.id == "switchyard.E102"]
    assert "Tenant 'acme' is on plan 'gold'" in error.msg


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("plan", "the tenant model customers.Client has no attribute 'plan'"),
        ("tests.owntenant.customers.plans.missing", "which cannot be imported"),
        ("tests.owntenant.customers.plans.NOT_A_FUNCTION", "a str, not a function"),
        ("", "expected an attribute name or the dotted path of a function"),
    ],
)
def test_a_broken_plan_hook_is_a_check_error_with_a_hint(hook: str, message: str) -> None:
    with override_settings(SWITCHYARD={**CALLABLE_HOOK, "TENANT_PLAN": hook}):
        (error,) = [m for m in run_checks() if m.id == "switchyard.E105"]
    assert message in error.msg
    assert 'SWITCHYARD["TENANT_PLAN"]' in error.hint


def test_the_inactive_selections_command_walks_the_clients(acme: Client, capsys: Any) -> None:
    call_command("switchyard_inactive_selections", "--tenant=acme", "--tenant=hooli")
    assert "Every stored selection is in force (2 tenants)." in capsys.readouterr().out
