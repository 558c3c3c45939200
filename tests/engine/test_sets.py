"""Registries holding a set (``multiple = True``): resolution, validated writes, history, checks."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.test import override_settings
from django_tenants.utils import tenant_context

from conditions import Context, Setting
from engine import NoStrategyAvailable, Reason, Registry, SkipReason, Strategy
from engine.checks_sets import check_sets
from engine.models import Selection, SelectionHistory
from engine.namespace import StrategyNamespace
from engine.set_resolution import SetResolution
from engine.storage.writes import write_selection
from engine.testing import override_strategy
from tenants.conditions import Plan
from tenants.models import Tenant
from tests.engine.core_support import Fixed
from tests.helpers import make_user

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


def define(**attributes: Any) -> type[Registry]:
    """Define "channels" (a set): mail (always, mandatory), sms (a setting), chat (enterprise
    plan), hook (always)."""
    declared = {"key": "channels", "multiple": True, "mandatory": ("mail",), **attributes}
    registry = type("Channels", (Registry,), declared)
    for name, slug, priority, condition in (
        ("Mail", "mail", 10, Fixed("always", True)),
        ("Sms", "sms", 20, Setting("CHANNELS_SMS")),
        ("Chat", "chat", 30, Plan("enterprise")),
        ("Hook", "hook", 40, Fixed("always", True)),
    ):
        type(
            name,
            (Strategy,),
            {"registry": registry, "slug": slug, "priority": priority, "condition": condition},
        )
    return registry


def store(tenant: Tenant, value: str, user: Any = None) -> None:
    write_selection("channels", value, user=user, via="api", tenant=tenant)


def in_force(resolution: Any) -> tuple[tuple[str, ...], Reason]:
    return resolution.slugs, resolution.reason


# Resolution --------------------------------------------------------------------------------


def test_nothing_stored_is_the_mandatory_strategies(free_tenant: Tenant) -> None:
    channels = define()
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert isinstance(resolution, SetResolution)
    assert in_force(resolution) == (("mail",), Reason.MANDATORY)
    assert resolution.reasons == (Reason.MANDATORY,)
    assert [type(s) for s in resolution.strategy] == [channels.get("mail")]


def test_the_stored_set_is_in_force_in_its_order(free_tenant: Tenant) -> None:
    channels = define()
    store(free_tenant, "hook,mail")
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == (("hook", "mail"), Reason.TENANT_SELECTION)
    assert resolution.reasons == (Reason.TENANT_SELECTION, Reason.MANDATORY)
    assert str(resolution) == "channels: hook,mail (the tenant's selection)"


def test_a_mandatory_strategy_missing_from_the_stored_set_comes_first(free_tenant: Tenant) -> None:
    channels = define()
    store(free_tenant, "hook")  # stored by hand, around the validation
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == (("mail", "hook"), Reason.TENANT_SELECTION)


def test_unavailable_and_unknown_slugs_are_skipped_and_kept(free_tenant: Tenant) -> None:
    channels = define()
    store(free_tenant, "mail,chat,gone,hook")
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == (("mail", "hook"), Reason.TENANT_SELECTION)
    skipped = [(s.source, s.slug, s.why) for s in resolution.skipped]
    assert skipped == [
        (Reason.TENANT_SELECTION, "chat", SkipReason.UNAVAILABLE),
        (Reason.TENANT_SELECTION, "gone", SkipReason.UNKNOWN_SLUG),
    ]
    with tenant_context(free_tenant):
        assert Selection.objects.get(registry="channels").slug == "mail,chat,gone,hook"


def test_the_defaults_apply_by_priority_when_nothing_stored_is_usable(
    free_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    channels = define(default=("hook", "chat"))
    store(free_tenant, "chat")
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == (("mail", "hook"), Reason.DEFAULT)
    assert [s.source for s in resolution.skipped] == [Reason.TENANT_SELECTION, Reason.DEFAULT]
    resolution = channels.resolve(Context(tenant=enterprise_tenant))
    assert in_force(resolution) == (("mail", "chat", "hook"), Reason.DEFAULT)


def test_a_users_set_replaces_the_tenants(free_tenant: Tenant) -> None:
    channels = define(user_selectable=True)
    user = make_user(free_tenant, "ursula")
    store(free_tenant, "mail,hook")
    with override_settings(CHANNELS_SMS=True):
        store(free_tenant, "sms,mail", user=user)
        own = channels.resolve(Context(tenant=free_tenant, user=user))
        tenant_level = StrategyNamespace(Context(tenant=free_tenant, user=user)).resolution(
            channels, tenant_level=True
        )
    assert in_force(own) == (("sms", "mail"), Reason.USER_SELECTION)
    assert in_force(tenant_level) == (("mail", "hook"), Reason.TENANT_SELECTION)


def test_min_selected_fills_by_priority_and_max_selected_cuts(free_tenant: Tenant) -> None:
    channels = define(mandatory=(), min_selected=2, max_selected=2)
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == (("mail", "hook"), Reason.FALLBACK)
    with override_settings(CHANNELS_SMS=True):
        store(free_tenant, "hook,sms,mail")
        resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == (("hook", "sms"), Reason.TENANT_SELECTION)
    assert [(s.slug, s.why) for s in resolution.skipped] == [("mail", SkipReason.OVER_LIMIT)]


def test_min_selected_zero_may_leave_nothing_in_force(free_tenant: Tenant) -> None:
    channels = define(mandatory=(), min_selected=0)
    resolution = channels.resolve(Context(tenant=free_tenant))
    assert in_force(resolution) == ((), Reason.NONE_SELECTED)
    assert resolution.strategy == ()


def test_nothing_available_raises(free_tenant: Tenant) -> None:
    channels = define(mandatory=("chat",), min_selected=1)
    for strategy in channels.strategies():
        if strategy.slug != "chat":
            strategy.condition = Fixed("never", False)
    with pytest.raises(NoStrategyAvailable) as raised:
        channels.resolve(Context(tenant=free_tenant))
    assert [s.slug for s in raised.value.skipped] == ["chat"]


def test_request_strategy_is_a_tuple_of_instances(free_tenant: Tenant) -> None:
    channels = define()
    store(free_tenant, "mail,hook")
    namespace = StrategyNamespace(Context(tenant=free_tenant))
    value = namespace.channels
    assert isinstance(value, tuple)
    assert [type(s) for s in value] == [channels.get("mail"), channels.get("hook")]
    assert namespace.channels is value  # resolved once per namespace


def test_override_strategy_forces_a_set(free_tenant: Tenant) -> None:
    define()
    with override_strategy("channels", "hook,sms"):
        resolution = StrategyNamespace(Context(tenant=free_tenant)).resolution("channels")
    assert in_force(resolution) == (("hook", "sms"), Reason.OVERRIDDEN)


def test_explain_marks_every_strategy_in_force(free_tenant: Tenant) -> None:
    channels = define()
    store(free_tenant, "hook,mail,chat")
    explanation = channels.explain(Context(tenant=free_tenant))
    assert [e.slug for e in explanation.in_force_all] == ["hook", "mail"]
    assert {e.slug for e in explanation.strategies if e.in_force} == {"hook", "mail"}
    text = str(explanation)
    assert text.startswith("channels: hook,mail (the tenant's selection)")
    assert "skipped: the tenant's selection 'chat' is unavailable: plan:enterprise" in text
    assert explanation.as_dict()["in_force"]["slugs"] == ["hook", "mail"]


# Writes --------------------------------------------------------------------------------------


def rows(tenant: Tenant) -> tuple[list[Any], list[Any]]:
    with tenant_context(tenant):
        selections = list(Selection.objects.values_list("registry", "slug", "user_id"))
        history = list(
            SelectionHistory.objects.order_by("id").values_list("before_slug", "after_slug", "via")
        )
    return selections, history


def test_select_stores_the_set_in_order_with_history(free_tenant: Tenant) -> None:
    channels = define()
    context = Context(tenant=free_tenant)
    channels.select(["hook", "mail"], context)
    channels.select(["mail"], context, via="form")
    selections, history = rows(free_tenant)
    assert selections == [("channels", "mail", None)]
    assert history == [(None, "hook,mail", "api"), ("hook,mail", "mail", "form")]
    assert channels.resolve(context).slugs == ("mail",)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("mail", "invalid_set"),
        ({"mail": 1}, "invalid_set"),
        (None, "invalid_set"),
        (["mail", 7], "invalid_set"),
        (["mail", "mail"], "duplicate"),
        (["mail", "nope"], "unknown_strategy"),
        (["mail", "ho\x00ok"], "unknown_strategy"),
        (["mail"] * 10_000, "too_many"),
        (["hook"], "mandatory"),
        ([], "mandatory"),
        (["mail", "chat"], "unavailable"),
    ],
)
def test_hostile_sets_are_refused_and_nothing_is_stored(
    free_tenant: Tenant, value: Any, code: str
) -> None:
    channels = define()
    with pytest.raises(ValidationError) as raised:
        channels.select(value, Context(tenant=free_tenant))
    assert [error.code for error in raised.value.error_list] == [code]
    assert len(" ".join(raised.value.messages)) < 400
    assert rows(free_tenant) == ([], [])


def test_counts_are_checked(free_tenant: Tenant) -> None:
    channels = define(mandatory=(), min_selected=2, max_selected=2)
    context = Context(tenant=free_tenant)
    for value, code in ((["mail"], "too_few"), (["mail", "hook", "sms"], "too_many")):
        with pytest.raises(ValidationError) as raised:
            channels.select(value, context)
        assert raised.value.code == code
        assert "holds 2 to 2 strategies" in raised.value.messages[0]
    assert rows(free_tenant) == ([], [])


def test_stored_slugs_may_be_kept_when_no_longer_available(free_tenant: Tenant) -> None:
    channels = define()
    context = Context(tenant=free_tenant)
    with override_settings(CHANNELS_SMS=True):
        channels.select(["mail", "sms"], context)
    channels.select(["sms", "mail", "hook"], context)  # sms is kept: not chosen again
    assert rows(free_tenant)[0] == [("channels", "sms,mail,hook", None)]
    with pytest.raises(ValidationError):
        channels.select(["mail", "chat"], context)  # chat was not stored: it is chosen


def test_an_empty_set_clears_the_selection(free_tenant: Tenant) -> None:
    channels = define(mandatory=(), min_selected=0)
    context = Context(tenant=free_tenant)
    channels.select(["hook"], context)
    assert channels.select([], context) is None
    assert rows(free_tenant) == ([], [(None, "hook", "api"), ("hook", None, "api")])


def test_a_user_set_needs_a_user_selectable_registry(free_tenant: Tenant) -> None:
    channels = define()
    user = make_user(free_tenant, "ursula")
    with pytest.raises(ValidationError) as raised:
        channels.select(["mail"], Context(tenant=free_tenant, user=user), user)
    assert raised.value.code == "not_user_selectable"


def test_aselect_and_aget_handle_sets(free_tenant: Tenant) -> None:
    channels = define()

    async def choose_then_read() -> Any:
        await channels.aselect(["hook", "mail"], Context(tenant=free_tenant))
        return await StrategyNamespace(Context(tenant=free_tenant)).aget("channels")

    value = async_to_sync(choose_then_read)()
    assert [s.slug for s in value] == ["hook", "mail"]


def test_aresolve_and_aexplain_handle_sets(free_tenant: Tenant) -> None:
    import engine

    define()
    store(free_tenant, "hook,mail")

    async def read() -> Any:
        resolution = await engine.aresolve("channels", tenant=free_tenant)
        explanation = await StrategyNamespace(Context(tenant=free_tenant)).aexplain("channels")
        return resolution, explanation

    resolution, explanation = async_to_sync(read)()
    assert in_force(resolution) == (("hook", "mail"), Reason.TENANT_SELECTION)
    assert [e.slug for e in explanation.in_force_all] == ["hook", "mail"]


def test_a_users_own_set_through_the_form(free_tenant: Tenant) -> None:
    from engine.forms import SelectionsForm

    define(user_selectable=True)
    user = make_user(free_tenant, "ursula")
    context = Context(tenant=free_tenant, user=user)
    data = {"channels": ["hook", "mail"]}
    form = SelectionsForm(context, data, for_user=True, registries=["channels"])
    assert form.is_valid(), form.errors
    form.save()
    with tenant_context(free_tenant):
        row = Selection.objects.get(registry="channels")
    assert (row.slug, row.user_id) == ("hook,mail", user.pk)


# System checks -------------------------------------------------------------------------------


def check_ids() -> list[str]:
    return [message.id or "" for message in check_sets()]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({}, []),
        ({"min_selected": 3, "max_selected": 2}, ["switchyard.E150"]),
        ({"min_selected": -1}, ["switchyard.E150"]),
        ({"max_selected": "2"}, ["switchyard.E150"]),
        ({"mandatory": ("mial",)}, ["switchyard.E151"]),
        ({"mandatory": "mail"}, ["switchyard.E151"]),
        ({"mandatory": ("mail", "hook"), "max_selected": 1}, ["switchyard.E152"]),
        ({"default": "hook"}, ["switchyard.E153"]),
        ({"default": ("hook", "nope")}, ["switchyard.E153"]),
        ({"default": ("mail", "hook"), "max_selected": 1}, ["switchyard.E154"]),
    ],
)
def test_checks_of_a_set_declaration(attributes: dict[str, Any], expected: list[str]) -> None:
    define(**attributes)
    assert check_ids() == expected


def test_set_attributes_on_a_single_registry_are_a_warning() -> None:
    define(multiple=False, mandatory=("mail",))
    assert check_ids() == ["switchyard.W150"]
