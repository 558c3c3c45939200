"""Hierarchical registries: a child's strategies are valid only under the parent strategies
they name; resolution, explain(), writes, the namespace's memo and the system checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.template import Context as TemplateContext
from django.template import Template
from django.test import override_settings
from django_tenants.utils import tenant_context

from conditions import Context, Setting
from conditions import cache as switchyard_cache
from engine import (
    NoStrategyAvailable,
    Reason,
    RegistrationError,
    Registry,
    SkipReason,
    Strategy,
    StrategyNamespace,
)
from engine.checks import check_hierarchy
from engine.explain import explain
from engine.models import Selection
from engine.platform.state import PlatformEntry, PlatformState, Status
from engine.resolution import ParentInForce, StoredSelections, resolve
from engine.storage.writes import write_selection
from engine.testing import override_condition, override_strategy
from tenants.models import Tenant
from tests.engine.core_support import Counted, checks
from tests.engine.test_rest_framework import API, client_for, put
from tests.helpers import make_user

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


@pytest.fixture
def gateways() -> type[Registry]:
    """ "gateways": card (always, preferred), invoice (the setting INVOICING)."""

    class Gateways(Registry):
        key = "gateways"
        default = "card"

    class Card(Strategy):
        registry = Gateways
        slug = "card"
        priority = 10
        condition = Counted("card-condition", True)

    class Invoice(Strategy):
        registry = Gateways
        slug = "invoice"
        priority = 20
        condition = Setting("INVOICING")

    return Gateways


@pytest.fixture
def networks(gateways: type[Registry]) -> type[Registry]:
    """ "networks" under "gateways": visa and amex serve card only; amex needs AMEX."""

    class Networks(Registry):
        key = "networks"
        parent = gateways  # a class works as well as its key

    class Visa(Strategy):
        registry = Networks
        slug = "visa"
        priority = 10
        parents = {"card"}

    class Amex(Strategy):
        registry = Networks
        slug = "amex"
        priority = 20
        parents = frozenset({"card"})
        condition = Setting("AMEX")

    return Networks


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant):
        Selection.objects.exists()  # the SET search_path of the switch, out of query counts
        yield free_tenant


def store(tenant: Tenant, key: str, slug: str, user: Any = None) -> None:
    write_selection(key, slug, user=user, via="api", tenant=tenant)


# -- declaration ------------------------------------------------------------------------------


def test_parent_is_stored_as_a_key_and_parents_as_a_frozenset(networks: type[Registry]) -> None:
    assert networks.parent == "gateways"
    assert networks.get("visa").parents == frozenset({"card"})
    assert networks.parent_registry() is not None
    assert networks.parent_registry().key == "gateways"  # type: ignore[union-attr]


@pytest.mark.parametrize("parents", ["card", 3, set(), {"not a slug!"}])
def test_parents_must_be_a_set_of_slugs(networks: type[Registry], parents: Any) -> None:
    with pytest.raises(RegistrationError, match=r"Odd\.parents is .*expected"):
        type("Odd", (Strategy,), {"registry": networks, "slug": "odd", "parents": parents})


def test_parent_must_be_a_key_or_a_registry() -> None:
    with pytest.raises(RegistrationError, match=r"Orphan\.parent is 3; expected a registry key"):
        type("Orphan", (Registry,), {"key": "orphans", "parent": 3})


def test_a_cycle_is_refused_when_resolving(acme: Tenant) -> None:
    first = type("First", (Registry,), {"key": "first", "parent": "second"})
    type("Second", (Registry,), {"key": "second", "parent": "first"})
    type("One", (Strategy,), {"registry": first, "slug": "one"})
    with pytest.raises(RegistrationError, match="form a cycle: first → second → first"):
        first.parent_registry()
    # At run time (manage.py check reports it): nothing valid, never a loop or a 500.
    with pytest.raises(NoStrategyAvailable, match="second has no strategy in force"):
        StrategyNamespace(Context(tenant=acme)).get("first")


def test_an_unknown_parent_leaves_the_child_nothing(acme: Tenant) -> None:
    orphans = type("Orphans", (Registry,), {"key": "orphans", "parent": "nowhere"})
    type("One", (Strategy,), {"registry": orphans, "slug": "one"})
    with pytest.raises(NoStrategyAvailable, match="nowhere has no strategy in force"):
        orphans.resolve(Context(tenant=acme))
    assert orphans.explain(Context(tenant=acme)).resolution is None


def test_a_forced_child_needs_no_parent(acme: Tenant, networks: type[Registry]) -> None:
    with override_strategy("networks", "amex"):
        namespace = StrategyNamespace(Context(tenant=acme))
        assert namespace.networks.slug == "amex"
        assert "gateways" not in namespace._resolutions  # the parent was not resolved


# -- resolution -------------------------------------------------------------------------------


def test_the_child_resolves_among_the_strategies_valid_under_the_parent(
    acme: Tenant, networks: type[Registry]
) -> None:
    with override_settings(AMEX=True):
        store(acme, "networks", "amex")
        resolution = networks.resolve(Context(tenant=acme))
    assert (resolution.slug, resolution.reason) == ("amex", Reason.TENANT_SELECTION)


def test_under_another_parent_the_stored_child_is_kept_but_not_used(
    acme: Tenant, networks: type[Registry]
) -> None:
    store(acme, "networks", "visa")
    store(acme, "gateways", "invoice")
    with override_settings(INVOICING=True), pytest.raises(NoStrategyAvailable) as raised:
        networks.resolve(Context(tenant=acme))
    (skip,) = raised.value.skipped
    assert (skip.slug, skip.why) == ("visa", SkipReason.NOT_UNDER_PARENT)
    assert str(skip) == "the tenant's selection 'visa' is not valid under gateways=invoice"
    assert "visa: not valid under gateways=invoice" in str(raised.value)
    assert Selection.objects.get(registry="networks").slug == "visa"  # kept
    # The parent falls back (invoicing off): the kept child comes back.
    resolution = networks.resolve(Context(tenant=acme))
    assert (resolution.slug, resolution.reason) == ("visa", Reason.TENANT_SELECTION)


def test_a_parent_with_nothing_available_leaves_the_child_nothing(
    acme: Tenant, networks: type[Registry], gateways: type[Registry]
) -> None:
    class Open(Strategy):
        registry = networks
        slug = "open"  # serves every parent strategy...

    checks.clear()
    card = gateways.get("card")
    unmet = pytest.raises(NoStrategyAvailable, match="gateways has no strategy in force")
    with override_condition(card, condition=False), unmet:
        networks.resolve(Context(tenant=acme))
    # ...and is in force when the parent has one.
    assert networks.resolve(Context(tenant=acme)).slug == "visa"
    assert Open.parents is None


def test_explain_says_not_valid_under_the_parent(acme: Tenant, networks: type[Registry]) -> None:
    store(acme, "gateways", "invoice")
    with override_settings(INVOICING=True):
        explained = networks.explain(Context(tenant=acme))
    assert explained.resolution is None
    assert explained.parent == ParentInForce("gateways", "invoice")
    visa = explained["visa"]
    assert not visa.available
    assert visa.explanation.text == "not valid under gateways=invoice"
    assert [child.text for child in visa.explanation.children] == ["always"]
    assert explained.as_dict()["parent"] == {"registry": "gateways", "slug": "invoice"}
    assert "networks: no strategy is available [under gateways=invoice]" in str(explained)


def test_available_lists_only_the_strategies_valid_under_the_parent(
    acme: Tenant, networks: type[Registry]
) -> None:
    namespace = StrategyNamespace(Context(tenant=acme))
    assert [s.slug for s in namespace.available("networks")] == ["visa"]
    store(acme, "gateways", "invoice")
    with override_settings(INVOICING=True):
        assert StrategyNamespace(Context(tenant=acme)).available("networks") == []


def test_the_parent_is_resolved_once_per_request_from_the_same_read(
    acme: Tenant,
    networks: type[Registry],
    django_assert_num_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    StrategyNamespace(Context(tenant=acme)).get("networks")  # warm the cache
    calls: list[str] = []
    alias = switchyard_cache.cache()
    original = alias.get_many
    monkeypatch.setattr(
        alias, "get_many", lambda *a, **k: calls.append("get_many") or original(*a, **k)
    )
    checks.clear()
    namespace = StrategyNamespace(Context(tenant=acme), connection_tenant=True)
    with django_assert_num_queries(0):
        network = namespace.networks
        gateway = namespace.gateways
        namespace.explain("networks")
    assert (network.slug, gateway.slug) == ("visa", "card")
    assert calls == ["get_many"]  # one round trip for the child, its parent and explain()
    assert checks == {"card-condition": 1}  # the parent resolved once, its condition memoised
    assert namespace.resolution("gateways") is namespace.resolution("gateways")


def test_async_twins_resolve_children(acme: Tenant, networks: type[Registry]) -> None:
    store(acme, "gateways", "invoice")

    async def read() -> tuple[str, list[str]]:
        namespace = StrategyNamespace(Context(tenant=acme))
        network = await namespace.aget("networks")
        explained = await namespace.aexplain("networks")
        return network.slug, [entry.slug for entry in explained.strategies if entry.available]

    with override_settings(INVOICING=False):
        assert asyncio.run(read()) == ("visa", ["visa"])


def test_a_user_level_child_follows_the_users_own_parent(acme: Tenant) -> None:
    class Themes(Registry):
        key = "themes"
        user_selectable = True

    for slug in ("light", "dark"):
        type(slug.title(), (Strategy,), {"registry": Themes, "slug": slug})

    class Accents(Registry):
        key = "accents"
        parent = "themes"
        user_selectable = True

    type("Blue", (Strategy,), {"registry": Accents, "slug": "blue", "parents": {"light"}})
    type("Neon", (Strategy,), {"registry": Accents, "slug": "neon", "parents": {"dark"}})
    user = make_user(acme, "night-owl")
    store(acme, "themes", "light")
    store(acme, "themes", "dark", user=user)
    namespace = StrategyNamespace(Context(user=user, tenant=acme))
    assert namespace.accents.slug == "neon"
    assert namespace.resolution("accents", tenant_level=True).slug == "blue"
    assert namespace.parent("accents", tenant_level=True) == ParentInForce("themes", "light")
    # A user's own choice is judged under their own parent, the tenant's under the tenant's.
    assert Accents.validate_selection("neon", Context(user=user, tenant=acme), user).slug == "neon"
    with pytest.raises(ValidationError, match="not valid under themes=light"):
        Accents.validate_selection("neon", Context(user=user, tenant=acme))


# -- writes -----------------------------------------------------------------------------------


def test_selecting_a_child_not_valid_under_the_tenants_parent_is_refused(
    acme: Tenant, networks: type[Registry]
) -> None:
    store(acme, "gateways", "invoice")
    owner = make_user(acme, "owner", superuser=True)
    context = Context(user=owner, tenant=acme)
    with override_settings(INVOICING=True), pytest.raises(ValidationError) as raised:
        networks.select("visa", context)
    assert raised.value.code == "not_under_parent"
    assert raised.value.messages == [
        "Strategy 'visa' of 'networks' is not valid under gateways=invoice; it serves "
        "gateways=card."
    ]
    assert not Selection.objects.filter(registry="networks").exists()
    # Judged under the parent the same change sets: accepted.
    with override_settings(INVOICING=True):
        assert networks.validate_selection("visa", context, parent="card").slug == "visa"
        with pytest.raises(ValidationError, match="not valid under gateways=invoice"):
            networks.validate_selection("visa", context, parent="invoice")


def test_a_child_is_checked_against_the_parent_stored_in_the_same_transaction(
    acme: Tenant, networks: type[Registry], gateways: type[Registry]
) -> None:
    owner = make_user(acme, "owner", superuser=True)
    context = Context(user=owner, tenant=acme)
    with override_settings(INVOICING=True), transaction.atomic():
        gateways.select("invoice", context)
        with pytest.raises(ValidationError, match="not valid under gateways=invoice"):
            networks.select("visa", context)
        gateways.select("card", context)
        networks.select("visa", context)
    assert Selection.objects.get(registry="networks").slug == "visa"


# -- checks -----------------------------------------------------------------------------------


def ids() -> list[str]:
    return [message.id for message in check_hierarchy() if message.id]


def test_checks_pass_for_a_sound_hierarchy(networks: type[Registry]) -> None:
    assert ids() == []


def test_an_unknown_parent_registry_is_e040() -> None:
    type("Sizes", (Registry,), {"key": "sizes", "parent": "shrits"})
    type("Shirts", (Registry,), {"key": "shirts"})
    (message,) = check_hierarchy()
    assert message.id == "switchyard.E040"
    assert "'shrits', which is no registered registry. Did you mean 'shirts'?" in message.msg


def test_an_unknown_parent_slug_is_e041(networks: type[Registry]) -> None:
    type("Jcb", (Strategy,), {"registry": networks, "slug": "jcb", "parents": {"crad"}})
    (message,) = check_hierarchy()
    assert message.id == "switchyard.E041"
    assert "names 'crad', which is not a strategy of the parent registry 'gateways'" in message.msg
    assert "Did you mean 'card'?" in message.msg


def test_a_cycle_is_e042() -> None:
    type("First", (Registry,), {"key": "first", "parent": "second"})
    type("Second", (Registry,), {"key": "second", "parent": "first"})
    assert ids() == ["switchyard.E042", "switchyard.E042"]


def test_parents_without_a_parent_registry_is_e043(gateways: type[Registry]) -> None:
    type("Cheque", (Strategy,), {"registry": gateways, "slug": "cheque", "parents": {"card"}})
    (message,) = check_hierarchy()
    assert message.id == "switchyard.E043"
    assert "its registry 'gateways' has no parent registry" in message.msg


# -- the API (the demo's card_networks, a child of payments) ----------------------------------


def test_the_api_shows_the_parent_and_refuses_a_child_under_another(
    enterprise_tenant: Tenant,
) -> None:
    owner = make_user(enterprise_tenant, "owner", superuser=True)
    client = client_for(enterprise_tenant, owner)
    assert put(client, f"{API}payments/selection/", {"slug": "invoice"}).status_code == 200
    data = client.get(f"{API}card_networks/").json()
    assert data["parent"] == {"registry": "payments", "slug": "invoice"}
    assert data["in_force"] is None
    visa = next(entry for entry in data["strategies"] if entry["slug"] == "visa")
    assert visa["explanation"]["text"] == "not valid under payments=invoice"
    response = put(client, f"{API}card_networks/selection/", {"slug": "visa"})
    assert response.status_code == 400
    assert response.json()["codes"] == {"slug": ["not_under_parent"]}
    with tenant_context(enterprise_tenant):
        assert not Selection.objects.filter(registry="card_networks").exists()


def test_the_doctor_reports_a_kept_child_and_no_missing_strategy(
    enterprise_tenant: Tenant,
) -> None:
    write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
    write_selection("card_networks", "visa", via="api", tenant=enterprise_tenant)
    out = StringIO()
    call_command("switchyard_doctor", "--format", "json", stdout=out)
    findings = json.loads(out.getvalue())["findings"]
    assert [(f["registry"], f["slug"], f["code"]) for f in findings] == [
        ("card_networks", "visa", "unavailable")
    ]
    assert "not valid under payments=invoice" in findings[0]["message"]


def test_the_explain_tag_names_the_parent(enterprise_tenant: Tenant) -> None:
    write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
    namespace = StrategyNamespace(Context(tenant=enterprise_tenant))
    html = Template('{% load switchyard %}{% explain_strategy "card_networks" %}').render(
        TemplateContext({"strategy": namespace})
    )
    assert 'data-parent="payments">Judged under payments=invoice.</p>' in html
    assert "not valid under payments=invoice" in html


def test_a_set_in_a_hierarchy_is_e044(gateways: type[Registry]) -> None:
    sizes = type("Sizes", (Registry,), {"key": "sizes", "parent": "gateways", "multiple": True})
    type("Small", (Strategy,), {"registry": sizes, "slug": "small", "parents": {"card"}})
    (message,) = check_hierarchy()
    assert message.id == "switchyard.E044"
    assert "a hierarchy of sets is not supported" in message.msg


# -- with the platform state ------------------------------------------------------------------


def test_a_parent_disabled_by_the_platform_moves_the_child_under_the_fallback_parent(
    networks: type[Registry], gateways: type[Registry], settings: Any
) -> None:
    settings.INVOICING = True
    stored = StoredSelections("acme", {"gateways": "card", "networks": "visa"})
    card_off = PlatformState(
        {"gateways": {"card": PlatformEntry("gateways", "card", Status.DISABLED, note="outage")}}
    )
    assert resolve(networks, Context(), stored).slug == "visa"
    # The kill switch on card: gateways falls back to invoice, under which no network serves.
    assert resolve(gateways, Context(), stored, platform=card_off).slug == "invoice"
    with pytest.raises(NoStrategyAvailable, match="not valid under gateways=invoice"):
        resolve(networks, Context(), stored, platform=card_off)
    explained = explain(networks, Context(), stored, platform=card_off)
    assert explained.parent == ParentInForce("gateways", "invoice")
    assert not explained["visa"].available
    # Enabled again: the stored network is in force once more; nothing was rewritten.
    assert resolve(networks, Context(), stored).slug == "visa"
