"""Plan changes through engine resolution, and the cross-tenant reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

import engine
from conditions import Context, Predicate
from conditions.predicates import register_predicate, unregister_predicate
from engine import Reason, Registry, SkipReason, Strategy
from engine.models import Selection
from engine.storage.writes import write_selection
from engine.testing import isolated_registries
from tenants.conditions import Plan, PlanAtLeast
from tenants.models import Tenant
from tenants.reports import inactive_selections, strategies_in_force


@pytest.fixture
def exports() -> Iterator[type[Registry]]:
    """A registry gated by plans: csv for all, xlsx from pro, api on enterprise only."""
    with isolated_registries():

        class Exports(Registry):
            key = "plan_exports"
            default = "csv"

        class Csv(Strategy):
            registry = Exports
            slug = "csv"
            priority = 10

        class Xlsx(Strategy):
            registry = Exports
            slug = "xlsx"
            condition = Plan("pro", "enterprise")

        class Api(Strategy):
            registry = Exports
            slug = "api"
            condition = PlanAtLeast("enterprise")

        class Themes(Registry):
            key = "plan_themes"
            user_selectable = True

        class Light(Strategy):
            registry = Themes
            slug = "light"

        class Dark(Strategy):
            registry = Themes
            slug = "dark"
            condition = PlanAtLeast("pro")

        yield Exports


def change_plan(tenant: Tenant, plan: str, committing: Any) -> Tenant:
    tenant.plan = plan
    with committing(execute=True):
        tenant.save()
    return Tenant.objects.get(pk=tenant.pk)


def test_a_smaller_plan_keeps_the_selection_but_falls_back_and_says_why(
    exports: type[Registry], pro_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    exports.select("xlsx", Context(tenant=pro_tenant))
    resolution = engine.resolve("plan_exports", tenant=pro_tenant)
    assert (resolution.slug, resolution.reason) == ("xlsx", Reason.TENANT_SELECTION)

    downgraded = change_plan(pro_tenant, "free", django_capture_on_commit_callbacks)
    resolution = engine.resolve("plan_exports", tenant=downgraded)
    assert (resolution.slug, resolution.reason) == ("csv", Reason.DEFAULT)
    (skipped,) = resolution.skipped
    assert (skipped.source, skipped.slug, skipped.why) == (
        Reason.TENANT_SELECTION,
        "xlsx",
        SkipReason.UNAVAILABLE,
    )
    assert skipped.explanation is not None
    assert skipped.explanation.text == "plan:enterprise,pro"
    assert "tenant globex is on plan 'free'" in skipped.explanation.detail
    with tenant_context(pro_tenant):
        assert Selection.objects.get(registry="plan_exports", user=None).slug == "xlsx"  # kept

    upgraded = change_plan(downgraded, "enterprise", django_capture_on_commit_callbacks)
    resolution = engine.resolve("plan_exports", tenant=upgraded)
    assert (resolution.slug, resolution.reason) == ("xlsx", Reason.TENANT_SELECTION)


def test_a_downgrade_shows_on_the_tenants_next_request(
    enterprise_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    from example_site.strategies import PaymentGateways

    with django_capture_on_commit_callbacks(execute=True):
        PaymentGateways.select("invoice", Context(tenant=enterprise_tenant))
    with tenant_context(enterprise_tenant):
        member = get_user_model().objects.create_user("member")
    client = Client(HTTP_HOST="initech.localhost")
    with tenant_context(enterprise_tenant):  # the dashboard is for the tenant's users
        client.force_login(member)
    page = client.get("/").content.decode()
    assert 'id="payment-strategy">Invoice (net 30)<' in page

    change_plan(enterprise_tenant, "pro", django_capture_on_commit_callbacks)
    page = client.get("/").content.decode()
    assert 'id="payment-strategy">Credit card<' in page
    assert "the tenant&#x27;s selection &#x27;invoice&#x27; is unavailable" in page


def test_the_inactive_selections_report_lists_each_kind_of_problem(
    exports: type[Registry], free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    User = get_user_model()
    with tenant_context(free_tenant):
        ann = User.objects.create_user("ann")
    write_selection("plan_exports", "xlsx", via="api", tenant=free_tenant)  # free: not allowed
    write_selection("plan_themes", "dark", user=ann, via="api", tenant=free_tenant)  # not allowed
    write_selection("plan_exports", "pdf", via="api", tenant=pro_tenant)  # strategy removed
    write_selection("legacy", "old", via="api", tenant=pro_tenant)  # registry removed
    with tenant_context(pro_tenant):
        bob = User.objects.create_user("bob")
    write_selection("plan_exports", "xlsx", user=bob, via="api", tenant=pro_tenant)  # no per-user
    write_selection("plan_themes", "dark", user=bob, via="api", tenant=pro_tenant)  # in force: fine
    write_selection("plan_exports", "api", via="api", tenant=None)  # public's: not a tenant report

    found = {(i.tenant, i.registry, i.slug, i.user): i for i in inactive_selections()}
    assert set(found) == {
        ("acme", "plan_exports", "xlsx", None),
        ("acme", "plan_themes", "dark", "ann"),
        ("globex", "plan_exports", "pdf", None),
        ("globex", "legacy", "old", None),
        ("globex", "plan_exports", "xlsx", "bob"),
    }
    free_xlsx = found[("acme", "plan_exports", "xlsx", None)]
    assert (free_xlsx.why, free_xlsx.in_force) == ("unavailable", "csv")
    assert free_xlsx.detail == "plan:enterprise,pro is not met"
    assert found[("acme", "plan_themes", "dark", "ann")].why == "unavailable"
    assert found[("globex", "plan_exports", "pdf", None)].why == "unknown_slug"
    assert found[("globex", "legacy", "old", None)].why == "unknown_registry"
    assert found[("globex", "plan_exports", "xlsx", "bob")].why == "not_user_selectable"
    assert (
        str(free_xlsx)
        == "plan_exports=xlsx (tenant): plan:enterprise,pro is not met; in force: csv"
    )
    assert free_xlsx.as_dict()["why"] == "unavailable"


def test_strategies_in_force_says_whose_choice_each_one_is(
    exports: type[Registry], free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    exports.select("xlsx", Context(tenant=pro_tenant))
    write_selection(
        "plan_exports", "api", via="api", tenant=free_tenant
    )  # stored before a downgrade
    report = {tenant.schema_name: tenant for tenant in strategies_in_force()}
    assert set(report) == {"acme", "globex", "initech"}  # not the platform itself

    def state(schema: str, key: str) -> Any:
        return next(s for s in report[schema].registries if s.registry == key)

    assert state("globex", "plan_exports").own_choice
    assert (state("globex", "plan_exports").slug, state("globex", "plan_exports").stored) == (
        "xlsx",
        "xlsx",
    )
    acme = state("acme", "plan_exports")
    assert (acme.slug, acme.reason, acme.own_choice, acme.stored) == (
        "csv",
        Reason.DEFAULT,
        False,
        "api",
    )
    assert "'api' is unavailable" in acme.skipped[0]
    initech = state("initech", "plan_themes")
    assert (initech.slug, initech.reason) == ("dark", Reason.FALLBACK)
    keys = [state["registry"] for state in report["acme"].as_dict()["registries"]]
    assert keys == sorted(keys) and "plan_exports" in keys


def test_a_registry_with_nothing_available_is_reported_not_raised(free_tenant: Tenant) -> None:
    with isolated_registries():

        class Premium(Registry):
            key = "premium"

        class Gold(Strategy):
            registry = Premium
            slug = "gold"
            condition = Plan("enterprise")

        (acme,) = strategies_in_force([free_tenant])
        (state,) = [s for s in acme.registries if s.registry == "premium"]
        assert (state.slug, state.reason) == (None, None)
        assert "No strategy of 'premium' is available" in state.error


def test_reports_read_every_tenant_in_one_query_and_nothing_per_registry_when_warm(
    exports: type[Registry], free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    strategies_in_force()  # loads the flag snapshot and every tenant's selections
    with CaptureQueriesContext(connection) as cold:
        from django.core.cache import caches

        caches["switchyard"].clear()
        strategies_in_force()
    reads = [q for q in cold.captured_queries if "engine_selection" in q["sql"]]
    assert len(reads) == 1  # one for every tenant and registry together (read_many)
    with CaptureQueriesContext(connection) as warm:
        strategies_in_force()
    statements = [q for q in warm.captured_queries if not q["sql"].startswith("SET ")]
    assert len(statements) == 1  # the tenant list: selections come from the cache


def test_reports_always_switch_the_connection_back(
    exports: type[Registry], free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    with tenant_context(pro_tenant):
        strategies_in_force()
        inactive_selections()
        assert connection.schema_name == "globex"
    with isolated_registries():

        class Broken(Registry):
            key = "broken"

        class Raises(Strategy):
            registry = Broken
            slug = "raises"

            def __init__(self, context: Any = None) -> None:
                raise RuntimeError("cannot build")

        with tenant_context(free_tenant):
            with pytest.raises(RuntimeError):
                strategies_in_force([pro_tenant])
            assert connection.schema_name == "acme"


def test_each_tenants_registries_are_judged_in_its_own_schema(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    seen: list[tuple[str, str]] = []

    def schema_seen(context: Context) -> bool:
        seen.append((context.tenant.schema_name, connection.schema_name))
        return True

    register_predicate("schema_seen", schema_seen)
    try:
        with isolated_registries():

            class Probes(Registry):
                key = "probes"

            class Probe(Strategy):
                registry = Probes
                slug = "probe"
                condition = Predicate("schema_seen")

            report = strategies_in_force([free_tenant, pro_tenant])
    finally:
        unregister_predicate("schema_seen")
    probes = [s for tenant in report for s in tenant.registries if s.registry == "probes"]
    assert [state.slug for state in probes] == ["probe", "probe"]
    # The condition ran with the connection on its tenant's schema; the connection is back.
    assert seen == [("acme", "acme"), ("globex", "globex")]
    assert connection.schema_name == "public"
