"""Resolution: user → tenant → default → fallback, every candidate checked, reasons recorded."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

import engine
from conditions import Context, Setting
from engine import NoStrategyAvailable, Reason, Registry, SkipReason, Strategy, UnknownRegistry
from engine.models import Selection
from engine.storage.writes import write_selection
from tenants.conditions import Plan
from tenants.models import Tenant
from tests.engine.core_support import Boom, Counted, Fixed, checks
from tests.helpers import make_user

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


def define(default: str | None = None, user_selectable: bool = False) -> type[Registry]:
    """Define the registry "shipping": truck (always), boat (a setting), air (enterprise)."""
    registry = type(
        "Shipping",
        (Registry,),
        {"key": "shipping", "default": default, "user_selectable": user_selectable},
    )

    for name, slug, priority, condition in (
        ("Truck", "truck", 30, Fixed("roads", True)),
        ("Boat", "boat", 20, Setting("SHIPPING_BY_SEA")),
        ("Air", "air", 10, Plan("enterprise")),
    ):
        type(
            name,
            (Strategy,),
            {"registry": registry, "slug": slug, "priority": priority, "condition": condition},
        )
    return registry


@pytest.fixture
def globex(pro_tenant: Tenant) -> Tenant:
    return pro_tenant


def store(tenant: Tenant, slug: str, user: Any = None) -> None:
    write_selection("shipping", slug, user=user, via="api", tenant=tenant)


def test_nothing_stored_and_no_default_falls_back_by_priority(globex: Tenant) -> None:
    shipping = define()
    resolution = shipping.resolve(Context(tenant=globex))
    # air (priority 10) needs the enterprise plan; globex is pro; boat needs a setting.
    assert (resolution.slug, resolution.reason) == ("truck", Reason.FALLBACK)
    assert resolution.skipped == ()
    assert type(resolution.strategy) is resolution.strategy_class is shipping.get("truck")


def test_the_default_is_used_when_nothing_is_stored(globex: Tenant) -> None:
    with override_settings(SHIPPING_BY_SEA=True):
        resolution = define(default="boat").resolve(Context(tenant=globex))
    assert (resolution.slug, resolution.reason) == ("boat", Reason.DEFAULT)


def test_the_default_must_pass_its_condition_too(globex: Tenant) -> None:
    resolution = define(default="air").resolve(Context(tenant=globex))
    assert (resolution.slug, resolution.reason) == ("truck", Reason.FALLBACK)
    (skip,) = resolution.skipped
    assert (skip.source, skip.slug, skip.why) == (Reason.DEFAULT, "air", SkipReason.UNAVAILABLE)
    assert skip.explanation is not None and skip.explanation.text == "plan:enterprise"
    assert "the registry's default 'air' is unavailable: plan:enterprise is not met" in str(skip)


def test_the_tenants_selection_wins_over_the_default(globex: Tenant) -> None:
    shipping = define(default="truck")
    with override_settings(SHIPPING_BY_SEA=True):
        store(globex, "boat")
        resolution = shipping.resolve(Context(tenant=globex))
    assert (resolution.slug, resolution.reason) == ("boat", Reason.TENANT_SELECTION)
    assert resolution.strategy.context.tenant == globex


def test_an_unavailable_selection_is_skipped_explained_and_kept(globex: Tenant) -> None:
    shipping = define(default="truck")
    store(globex, "air")
    resolution = shipping.resolve(Context(tenant=globex))
    assert (resolution.slug, resolution.reason) == ("truck", Reason.DEFAULT)
    (skip,) = resolution.skipped
    assert (skip.source, skip.slug, skip.why) == (
        Reason.TENANT_SELECTION,
        "air",
        SkipReason.UNAVAILABLE,
    )
    assert skip.as_dict()["explanation"]["text"] == "plan:enterprise"
    with tenant_context(globex):
        assert Selection.objects.get(registry="shipping", user=None).slug == "air"  # kept


def test_a_kept_selection_comes_back_when_it_is_allowed_again(globex: Tenant) -> None:
    shipping = define(default="truck")
    store(globex, "air")
    globex.plan = "enterprise"  # the tenant upgrades
    resolution = shipping.resolve(Context(tenant=globex))
    assert (resolution.slug, resolution.reason) == ("air", Reason.TENANT_SELECTION)


def test_an_unknown_stored_slug_is_skipped_and_kept(globex: Tenant) -> None:
    shipping = define()
    store(globex, "teleport")  # e.g. a strategy that was removed from the code
    resolution = shipping.resolve(Context(tenant=globex))
    assert resolution.reason is Reason.FALLBACK
    (skip,) = resolution.skipped
    assert (skip.slug, skip.why, skip.explanation) == ("teleport", SkipReason.UNKNOWN_SLUG, None)
    assert "'teleport' is not a registered strategy" in str(skip)
    with tenant_context(globex):
        assert Selection.objects.filter(slug="teleport").exists()


def test_a_users_own_selection_wins_only_when_the_registry_allows_it(globex: Tenant) -> None:
    dora = make_user(globex, "dora")
    store(globex, "truck")
    with override_settings(SHIPPING_BY_SEA=True):
        personal = define(user_selectable=True)
        store(globex, "boat", user=dora)
        resolution = personal.resolve(Context(tenant=globex, user=dora))
        assert (resolution.slug, resolution.reason) == ("boat", Reason.USER_SELECTION)
        anonymous = personal.resolve(Context(tenant=globex, user=AnonymousUser()))
        assert (anonymous.slug, anonymous.reason) == ("truck", Reason.TENANT_SELECTION)
    with engine.testing.isolated_registries():
        shared = define(user_selectable=False)
        resolution = shared.resolve(Context(tenant=globex, user=dora))
    assert (resolution.slug, resolution.reason) == ("truck", Reason.TENANT_SELECTION)


def test_an_unavailable_user_selection_falls_to_the_tenants(globex: Tenant) -> None:
    dora = make_user(globex, "dora")
    shipping = define(user_selectable=True)
    store(globex, "air", user=dora)
    store(globex, "truck")
    resolution = shipping.resolve(Context(tenant=globex, user=dora))
    assert (resolution.slug, resolution.reason) == ("truck", Reason.TENANT_SELECTION)
    assert [(s.source, s.slug) for s in resolution.skipped] == [(Reason.USER_SELECTION, "air")]


def test_nothing_available_raises_naming_the_registry_with_explanations(globex: Tenant) -> None:
    class Closed(Registry):
        key = "closed"
        default = "only"

    class Only(Strategy):
        registry = Closed
        slug = "only"
        condition = Fixed("open", False)

    with pytest.raises(NoStrategyAvailable) as raised:
        Closed.resolve(Context(tenant=globex))
    error = raised.value
    assert error.registry_key == "closed"
    assert "No strategy of 'closed' is available" in str(error)
    assert [slug for slug, _ in error.explanations] == ["only"]
    assert error.as_dict()["skipped"][0]["source"] == "default"


def test_an_empty_registry_raises_no_strategy_available(globex: Tenant) -> None:
    class Empty(Registry):
        key = "empty"

    with pytest.raises(NoStrategyAvailable, match="the registry is empty"):
        Empty.resolve(Context(tenant=globex))


def test_a_broken_condition_fails_closed_for_its_strategy_only(
    globex: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    class Payments(Registry):
        key = "broken_payments"

    class Flaky(Strategy):
        registry = Payments
        slug = "flaky"
        priority = 1
        condition = ~Boom("gateway")  # ~ of an error stays "not met"

    class Solid(Strategy):
        registry = Payments
        slug = "solid"

    caplog.set_level(logging.WARNING)
    context = Context(tenant=globex)
    assert Payments.resolve(context).slug == "solid"
    assert Payments.available(context) == [Solid]
    explained = Payments.explain(context)["flaky"].explanation
    assert explained.children[0].error is not None
    assert sum("boom:" in record.getMessage() for record in caplog.records) == 1  # logged once

    with pytest.raises(RuntimeError, match="gateway is broken"):
        Payments.resolve(Context(tenant=globex, strict=True))


def test_a_condition_class_that_raises_by_itself_fails_closed(globex: Tenant) -> None:
    class Raising(Fixed):
        __slots__ = ()

        def truth(self, context: Context) -> bool | None:
            raise ValueError("not a leaf's error handling")

        def explain(self, context: Context) -> Any:
            raise ValueError("not a leaf's error handling")

    class Payments(Registry):
        key = "raising_payments"

    class Odd(Strategy):
        registry = Payments
        slug = "odd"
        priority = 1
        condition = Raising("x", True)

    class Even(Strategy):
        registry = Payments
        slug = "even"

    assert Payments.resolve(Context(tenant=globex)).slug == "even"
    assert Payments.available(Context(tenant=globex)) == [Even]
    with pytest.raises(ValueError, match="not a leaf's error handling"):
        Payments.available(Context(tenant=globex, strict=True))
    entry = Payments.explain(Context(tenant=globex))["odd"]
    assert entry.available is False
    assert isinstance(entry.explanation.error, ValueError)


def test_one_context_evaluates_each_leaf_once_across_registries(globex: Tenant) -> None:
    checks.clear()
    shared = Counted("shared", False)

    for key in ("first", "second"):
        registry = type(key.title(), (Registry,), {"key": key})
        type(
            f"{key}A",
            (Strategy,),
            {"registry": registry, "slug": "a", "priority": 1, "condition": shared},
        )
        type(f"{key}B", (Strategy,), {"registry": registry, "slug": "b"})

    namespace = engine.StrategyNamespace(Context(tenant=globex))
    assert namespace.first.slug == namespace.second.slug == "b"
    assert checks == {"shared": 1}


def test_engine_resolve_outside_a_request_switches_to_the_tenants_schema(
    globex: Tenant, free_tenant: Tenant
) -> None:
    shipping = define()
    store(globex, "truck")
    with override_settings(SHIPPING_BY_SEA=True):
        store(free_tenant, "boat")
        connection.set_schema_to_public()
        resolution = engine.resolve("shipping", tenant=globex)
        assert (resolution.slug, resolution.reason) == ("truck", Reason.TENANT_SELECTION)
        assert engine.resolve(shipping, tenant=free_tenant).slug == "boat"
    assert connection.schema_name == "public"  # switched back


def test_engine_resolve_uses_the_connections_tenant_and_a_user(globex: Tenant) -> None:
    dora = make_user(globex, "dora")
    shipping = define(user_selectable=True)
    store(globex, "truck", user=dora)
    with tenant_context(globex):
        resolution = engine.resolve("shipping", user=dora)
    assert (resolution.slug, resolution.reason) == ("truck", Reason.USER_SELECTION)
    assert resolution.strategy.context.tenant == globex
    assert shipping.get("truck") is resolution.strategy_class


def test_engine_resolve_with_a_shared_context_and_bad_input(globex: Tenant) -> None:
    define()
    context = Context(tenant=globex)
    assert engine.resolve("shipping", context=context).slug == "truck"
    with pytest.raises(TypeError, match="either context= or tenant=/user="):
        engine.resolve("shipping", context=context, tenant=globex)
    with pytest.raises(UnknownRegistry, match="Did you mean 'shipping'"):
        engine.resolve("shiping", tenant=globex)


def test_select_validates_then_stores(globex: Tenant) -> None:
    shipping = define()
    context = Context(tenant=globex)
    shipping.select("truck", context, via="form")
    assert shipping.resolve(context).reason is Reason.TENANT_SELECTION
    with tenant_context(globex):
        assert Selection.objects.get(registry="shipping").slug == "truck"
    shipping.deselect(context)
    assert shipping.resolve(context).reason is Reason.FALLBACK


@pytest.mark.parametrize(
    ("slug", "user", "code", "text"),
    [
        ("truk", False, "unknown_strategy", "Unknown strategy 'truk' in 'shipping'. Did you mean"),
        (None, False, "unknown_strategy", "Unknown strategy None"),
        ("air", False, "unavailable", "'air' of 'shipping' is not available here: plan:enterprise"),
        ("truck", True, "not_user_selectable", "does not allow per-user selections"),
    ],
)
def test_select_rejects_and_stores_nothing(
    globex: Tenant, slug: Any, user: bool, code: str, text: str
) -> None:
    shipping = define()
    dora = make_user(globex, "dora") if user else None
    with pytest.raises(ValidationError) as raised:
        shipping.select(slug, Context(tenant=globex), user=dora)
    assert raised.value.code == code
    assert text in raised.value.messages[0]
    with tenant_context(globex):
        assert not Selection.objects.exists()


def test_a_users_selection_is_validated_for_that_user(globex: Tenant) -> None:
    class Personal(Registry):
        key = "personal"
        user_selectable = True

    class OnlyDora(Fixed):
        __slots__ = ()

        def check(self, context: Context) -> bool:
            return getattr(context.user, "username", None) == "dora"

    class Doras(Strategy):
        registry = Personal
        slug = "doras"
        condition = OnlyDora("user", "dora")

    dora, eve = make_user(globex, "dora"), make_user(globex, "eve")
    admin_context = Context(tenant=globex, user=eve)
    Personal.select("doras", admin_context, user=dora)  # checked for dora, not for eve
    with pytest.raises(ValidationError) as raised:
        Personal.select("doras", admin_context, user=eve)
    assert raised.value.code == "unavailable"
    assert Personal.resolve(Context(tenant=globex, user=dora)).reason is Reason.USER_SELECTION
