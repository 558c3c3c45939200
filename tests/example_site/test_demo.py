"""example_site/demo.py: the demo's data, created once and never reset by a second run."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django_tenants.utils import schema_context, tenant_context

from conditions import Context
from engine.models import Selection, SelectionHistory, StrategyConfiguration
from engine.storage.writes import write_selection
from example_site.demo import DEMO_TENANTS, seed_demo
from example_site.models import Order
from example_site.registries.payments import Invoice
from tenants.models import PlatformFlag, Tenant


def snapshot() -> dict[str, Any]:
    """What the demo seeded, per schema."""
    found: dict[str, Any] = {}
    with schema_context("public"):
        found["flags"] = sorted(
            PlatformFlag.objects.values_list("name", "tenants", "tenant_percent", "everyone")
        )
        found["admins"] = list(get_user_model().objects.values_list("username", "is_superuser"))
    for demo in DEMO_TENANTS:
        with schema_context(demo.schema_name):
            User = get_user_model()
            found[demo.schema_name] = {
                "users": sorted(User.objects.values_list("username", "is_superuser")),
                "member_groups": sorted(
                    User.objects.get(username="member").groups.values_list("name", flat=True)
                ),
                "groups": sorted(
                    (group.name, sorted(group.permissions.values_list("codename", flat=True)))
                    for group in Group.objects.all()
                ),
                "selections": sorted(
                    Selection.objects.filter(user=None).values_list("registry", "slug")
                ),
                "orders": sorted(Order.objects.values_list("product", "quantity", "pricing")),
                "configurations": sorted(
                    StrategyConfiguration.objects.filter(user=None).values_list(
                        "registry", "slug", "secrets"
                    )
                ),
            }
    return found


def test_the_demo_seeds_tenants_logins_groups_flags_selections_and_orders(
    public_tenant: Tenant,
) -> None:
    tenants = seed_demo()
    assert [(t.schema_name, t.plan) for t in tenants] == [
        ("acme", "free"),
        ("globex", "pro"),
        ("initech", "enterprise"),
    ]
    seeded = snapshot()
    assert seeded["flags"] == [
        ("crypto_beta", ["globex"], None, None),
        ("slack_alerts", [], 50, None),
    ]
    assert seeded["admins"] == [("admin", True)]
    groups = [("Developers", []), ("Finance", ["export_spreadsheet", "use_invoice"])]
    assert seeded["acme"] == {
        "users": [("member", False), ("owner", True)],
        "member_groups": ["Developers"],
        "groups": groups,
        "selections": [],
        "orders": [("analytics", 1, "flat"), ("storage", 4, "flat")],
        "configurations": [],
    }
    assert seeded["globex"]["member_groups"] == ["Finance"]
    assert seeded["globex"]["selections"] == [
        ("exports", "xlsx"),
        ("notifications", "email,slack"),
        ("payments", "stripe"),
        ("pricing", "volume"),
    ]
    assert seeded["globex"]["orders"] == [("analytics", 12, "volume"), ("support", 2, "volume")]
    assert seeded["initech"]["selections"] == [
        ("notifications", "email,webhook"),  # the webhook configured first, then selected
        ("payments", "invoice"),
        ("pricing", "per_seat"),
    ]
    (webhook,) = seeded["initech"]["configurations"]
    assert webhook[:2] == ("notifications", "webhook")
    assert webhook[2]["signing_secret"].startswith("gAAAA")  # encrypted, not the demo secret
    assert [c[:2] for c in seeded["globex"]["configurations"]] == [("payments", "stripe")]
    with schema_context("globex"):
        history = SelectionHistory.objects.get(registry="exports")
        assert (history.via, history.after_slug) == ("seed", "xlsx")


def test_seeding_again_changes_nothing_and_keeps_what_people_changed(
    public_tenant: Tenant, pro_tenant: Tenant
) -> None:
    seed_demo()
    write_selection("notifications", "email", via="form", tenant=pro_tenant)
    with tenant_context(pro_tenant):
        Order.objects.filter(quantity=12).delete()
    with schema_context("public"):
        PlatformFlag.objects.filter(name="slack_alerts").update(tenant_percent=100)
    before = snapshot()
    seed_demo()
    assert snapshot() == before
    assert ("notifications", "email") in before["globex"]["selections"]
    assert before["flags"][1] == ("slack_alerts", [], 100, None)


def test_logins_meet_different_conditions(demo: dict[str, Tenant]) -> None:
    def may_invoice(schema: str, username: str) -> bool:
        tenant = demo[schema]
        with tenant_context(tenant):
            person = get_user_model().objects.get(username=username)
            return Invoice.is_available(Context(tenant=tenant, user=person))

    assert may_invoice("acme", "owner")  # a superuser has every permission
    assert not may_invoice("acme", "member")  # a developer on the free plan
    assert may_invoice("globex", "member")  # Finance may pay by invoice
    assert may_invoice("initech", "member")  # the enterprise plan
