"""The platform state in resolution: disabled (kill switch), reserve, priority, scope, notes.

``engine.platform.state`` and ``engine.resolution`` are pure: most tests hand them a
``PlatformState``; the ones at the end go through the database, the snapshot and a tenant.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django_tenants.utils import tenant_context

import engine
from conditions import Context, parse, snapshot
from engine import NoStrategyAvailable, Reason, Registry, SkipReason, Strategy
from engine.explain import explain
from engine.models import Selection, StrategyState, StrategyStateChange
from engine.platform.changes import set_status
from engine.platform.load import build, platform_state
from engine.platform.state import PlatformEntry, PlatformState, Status
from engine.resolution import StoredSelections, offered, resolve
from engine.set_resolution import resolve_any
from tenants.models import Tenant
from tests.engine.core_support import Fixed
from tests.helpers import get, store
from tests.transactions import committed

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")


def define(default: str | None = None) -> type[Registry]:
    """Define "ships": sloop (10), brig (20), yacht (30, unavailable), all but yacht offered."""
    registry = type("Ships", (Registry,), {"key": "ships", "default": default})
    for name, slug, priority, met in (
        ("Sloop", "sloop", 10, True),
        ("Brig", "brig", 20, True),
        ("Yacht", "yacht", 30, False),
    ):
        type(
            name,
            (Strategy,),
            {
                "registry": registry,
                "slug": slug,
                "priority": priority,
                "condition": Fixed(slug, met),
            },
        )
    return registry


def state(*entries: PlatformEntry) -> PlatformState:
    rows: dict[str, dict[str, PlatformEntry]] = {}
    for entry in entries:
        rows.setdefault(entry.registry, {})[entry.slug] = entry
    return PlatformState(rows)


def stored(slug: str) -> StoredSelections:
    return StoredSelections("acme", {"ships": slug})


def test_no_state_changes_nothing() -> None:
    ships = define()
    neutral = state(PlatformEntry("ships", "sloop", note="synced"))
    assert neutral.policy("ships", ships.strategies(), Context()) is None  # the fast path
    assert resolve(ships, Context(), stored("brig"), platform=neutral).slug == "brig"


def test_a_disabled_stored_choice_falls_back_with_the_reason_and_the_note() -> None:
    ships = define()
    off = state(PlatformEntry("ships", "brig", Status.DISABLED, note="provider outage"))
    resolution = resolve(ships, Context(), stored("brig"), platform=off)
    assert (resolution.slug, resolution.reason) == ("sloop", Reason.FALLBACK)
    (skip,) = resolution.skipped
    assert (skip.slug, skip.why, skip.note) == (
        "brig",
        SkipReason.DISABLED_BY_PLATFORM,
        "provider outage",
    )
    assert "'brig' is disabled by the platform: provider outage" in str(resolution)
    assert resolution.as_dict()["skipped"][0]["why"] == "disabled_by_platform"
    assert resolution.as_dict()["skipped"][0]["note"] == "provider outage"
    # Enabled again (no entry): the stored choice is back; nothing was rewritten.
    assert resolve(ships, Context(), stored("brig")).reason is Reason.TENANT_SELECTION


def test_a_disabled_default_and_fallback_are_skipped() -> None:
    ships = define(default="sloop")
    off = state(PlatformEntry("ships", "sloop", Status.DISABLED, note="outage"))
    resolution = resolve(ships, Context(), platform=off)
    assert (resolution.slug, resolution.reason) == ("brig", Reason.FALLBACK)
    assert [(s.source, s.why) for s in resolution.skipped] == [
        (Reason.DEFAULT, SkipReason.DISABLED_BY_PLATFORM)
    ]
    both = state(
        PlatformEntry("ships", "sloop", Status.DISABLED),
        PlatformEntry("ships", "brig", Status.DISABLED),
    )
    with pytest.raises(NoStrategyAvailable):
        resolve(ships, Context(), platform=both)
    assert offered(ships, Context(), both) == []


def test_reserve_is_offered_only_when_no_active_strategy_is_available() -> None:
    ships = define()
    reserve = state(PlatformEntry("ships", "brig", Status.RESERVE, note="backup"))
    assert [s.slug for s in offered(ships, Context(), reserve)] == ["sloop"]
    resolution = resolve(ships, Context(), stored("brig"), platform=reserve)
    assert resolution.slug == "sloop"
    assert resolution.skipped[0].why is SkipReason.RESERVE
    # Sloop disabled: brig, in reserve, is the only one left and is offered and used.
    outage = state(
        PlatformEntry("ships", "brig", Status.RESERVE),
        PlatformEntry("ships", "sloop", Status.DISABLED),
    )
    assert [s.slug for s in offered(ships, Context(), outage)] == ["brig"]
    assert (
        resolve(ships, Context(), stored("brig"), platform=outage).reason is Reason.TENANT_SELECTION
    )
    assert resolve(ships, Context(), platform=outage).slug == "brig"


def test_a_priority_override_changes_the_fallback_order() -> None:
    ships = define()
    first = state(PlatformEntry("ships", "brig", priority=1))
    assert resolve(ships, Context(), platform=first).slug == "brig"
    assert [s.slug for s in offered(ships, Context(), first)] == ["brig", "sloop"]
    assert resolve(ships, Context()).slug == "sloop"


def test_a_scoped_state_holds_only_for_the_contexts_meeting_it() -> None:
    ships = define()
    scoped = state(PlatformEntry("ships", "brig", Status.DISABLED, scope=parse("tenant:acme")))
    acme, globex = (
        Context(tenant=Tenant(schema_name="acme")),
        Context(tenant=Tenant(schema_name="globex")),
    )
    assert resolve(ships, acme, stored("brig"), platform=scoped).slug == "sloop"
    assert resolve(ships, globex, stored("brig"), platform=scoped).slug == "brig"


def test_explain_shows_the_status_and_the_note() -> None:
    ships = define()
    off = state(PlatformEntry("ships", "brig", Status.DISABLED, note="provider outage"))
    explained = explain(ships, Context(), stored("brig"), platform=off)
    assert not explained["brig"].available  # its condition is met, the platform says no
    assert explained["brig"].explanation.result is True
    assert explained["brig"].platform_text == "disabled by the platform: provider outage"
    assert "[disabled by the platform: provider outage]" in str(explained)
    assert explained.as_dict()["strategies"][1]["status"] == "disabled"
    assert explained.as_dict()["strategies"][1]["note"] == "provider outage"


def test_rows_are_built_safely() -> None:
    built = build(
        [
            ["ships", "brig", "disabled", None, "outage", ""],
            ["ships", "sloop", "bogus", 5, None, "not a ( condition"],
        ]
    )
    assert built.entry("ships", "brig") == PlatformEntry(
        "ships", "brig", Status.DISABLED, None, "outage"
    )
    # An unknown status (raw SQL only) holds the strategy back; a broken scope is everyone.
    sloop = built.entry("ships", "sloop")
    assert sloop is not None and (sloop.status, sloop.priority, sloop.scope) == (
        Status.DISABLED,
        5,
        None,
    )


# Through the database, the snapshot and a tenant ---------------------------------------------


def test_the_kill_switch_moves_a_tenant_off_and_back(enterprise_tenant: Tenant) -> None:
    store(enterprise_tenant, "invoice")
    with tenant_context(enterprise_tenant):
        assert engine.resolve("payments").slug == "invoice"
    set_status("payments.invoice", "disabled", note="provider outage", changed_by="ops", via="api")
    with tenant_context(enterprise_tenant):
        resolution = engine.resolve("payments")
        assert (resolution.slug, resolution.reason) == ("card", Reason.DEFAULT)
        assert resolution.skipped[0].why is SkipReason.DISABLED_BY_PLATFORM
        assert resolution.skipped[0].note == "provider outage"
        with pytest.raises(ValidationError) as refused:
            engine.get_registry("payments").select("invoice", Context(tenant=enterprise_tenant))
        assert refused.value.code == "disabled_by_platform"
        assert "provider outage" in refused.value.messages[0]
        assert Selection.objects.get(user=None, registry="payments").slug == "invoice"  # kept
    set_status("payments.invoice", "active", note="", changed_by="ops", via="api")
    with tenant_context(enterprise_tenant):
        assert engine.resolve("payments").reason is Reason.TENANT_SELECTION
    changes = list(StrategyStateChange.objects.filter(registry="payments", slug="invoice"))
    assert [c.summary for c in changes[:2]] == [
        "status 'disabled' → 'active'; note 'provider outage' → ''",
        "status 'active' → 'disabled'; note '' → 'provider outage'",
    ]
    assert {c.changed_by for c in changes[:2]} == {"ops"}


def test_selecting_a_reserve_strategy_while_an_active_one_is_available_is_refused(
    enterprise_tenant: Tenant,
) -> None:
    set_status("payments.invoice", "reserve", note="", via="api")
    with pytest.raises(ValidationError) as refused:
        engine.get_registry("payments").validate_selection(
            "invoice", Context(tenant=enterprise_tenant)
        )
    assert refused.value.code == "reserve"


def test_warm_reads_of_the_state_cost_no_query_and_no_cache_call(
    enterprise_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    set_status("payments.crypto", "disabled", note="x", via="api")
    context = Context(tenant=enterprise_tenant)
    platform_state(context)  # loads the snapshot once
    with django_assert_num_queries(0):
        found = platform_state(Context(tenant=enterprise_tenant))
    entry = found.entry("payments", "crypto")
    assert entry is not None and entry.status is Status.DISABLED


def test_a_change_reaches_the_next_context(enterprise_tenant: Tenant) -> None:
    assert (
        platform_state(Context(tenant=enterprise_tenant)).entry("payments", "card").status
        is Status.ACTIVE
    )  # type: ignore[union-attr]
    StrategyState.objects.filter(registry="payments", slug="card").update(status="disabled")
    entry = platform_state(Context(tenant=enterprise_tenant)).entry("payments", "card")
    assert entry is not None and entry.status is Status.DISABLED


def test_a_change_made_while_on_a_tenants_schema_lands_in_the_public_schema(
    free_tenant: Tenant,
) -> None:
    with tenant_context(free_tenant):
        set_status("payments.crypto", "disabled", note="outage", via="api")
        assert not StrategyState.objects.filter(slug="crypto").exists()  # the tenant's copy
        entry = platform_state(Context(tenant=free_tenant)).entry("payments", "crypto")
        assert entry is not None and entry.status is Status.DISABLED
    assert StrategyState.objects.get(registry="payments", slug="crypto").status == "disabled"
    assert StrategyStateChange.objects.filter(slug="crypto", note="outage").exists()


@override_settings(ROOT_URLCONF="tests.engine.urls_core")
def test_a_warm_request_with_a_disabled_strategy_costs_no_query_and_one_round_trip(
    enterprise_tenant: Tenant,
) -> None:
    store(enterprise_tenant, "invoice")
    with committed():
        set_status("payments.invoice", "disabled", note="outage", via="api")
    cold = get("initech.localhost", "/resolve/").json()
    assert (cold["slug"], cold["reason"]) == ("card", "default")
    warm = get("initech.localhost", "/resolve/").json()
    assert (warm["slug"], warm["available"]) == ("card", ["card"])  # crypto: its flag is off
    assert warm["queries"] == []
    # No cache call of its own: the routing fetched the selections and the snapshot's stamp
    # (which the platform state rides on) in the request's one round trip.
    assert warm["cache_calls"] == []


def test_a_change_whose_stamp_never_reached_the_cache_is_served_within_the_bound(
    enterprise_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    def card() -> Status:
        entry = platform_state(Context(tenant=enterprise_tenant)).entry("payments", "card")
        assert entry is not None
        return entry.status

    switchyard = {**settings.SWITCHYARD, "STALENESS_BOUND": 0.5}
    with override_settings(SWITCHYARD=switchyard):
        snapshot.forget()
        assert card() is Status.ACTIVE
        # Another process's write whose stamp never reached the cache (raw SQL: no signal).
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE public.engine_strategystate SET status = 'disabled' "
                "WHERE registry = 'payments' AND slug = 'card'"
            )
        with django_assert_num_queries(0):
            assert card() is Status.ACTIVE  # within the bound: the last good copy
        time.sleep(0.6)
        assert card() is Status.DISABLED  # the digest differed: reloaded
    snapshot.forget()


def test_no_strategy_available_says_the_platform_disabled_them() -> None:
    ships = define()
    off = state(
        PlatformEntry("ships", "sloop", Status.DISABLED, note="storm"),
        PlatformEntry("ships", "brig", Status.DISABLED, note="storm"),
    )
    with pytest.raises(NoStrategyAvailable) as raised:
        resolve(ships, Context(), platform=off)
    assert "sloop: disabled by the platform: storm" in str(raised.value)
    assert "yacht: fixed:yacht=False" in str(raised.value)


def test_a_set_skips_what_the_platform_disabled_mandatory_or_chosen() -> None:
    channels = type(
        "Channels", (Registry,), {"key": "channels", "multiple": True, "mandatory": ("mail",)}
    )
    for slug, priority in (("mail", 10), ("chat", 20), ("pager", 30)):
        type(slug.title(), (Strategy,), {"registry": channels, "slug": slug, "priority": priority})
    chosen = StoredSelections("acme", {"channels": "pager,chat"})
    assert resolve_any(channels, Context(), chosen).slugs == ("mail", "pager", "chat")
    off = state(
        PlatformEntry("channels", "chat", Status.DISABLED, note="chat outage"),
        PlatformEntry("channels", "mail", Status.DISABLED, note="mail outage"),
    )
    resolution = resolve_any(channels, Context(), chosen, platform=off)
    assert resolution.slugs == ("pager",)
    assert {(skip.slug, skip.why, skip.note) for skip in resolution.skipped} == {
        ("mail", SkipReason.DISABLED_BY_PLATFORM, "mail outage"),
        ("chat", SkipReason.DISABLED_BY_PLATFORM, "chat outage"),
    }
    # Nothing stored usable: the fill by priority passes over what the platform disabled too.
    nothing = StoredSelections("acme", {"channels": "chat"})
    assert resolve_any(channels, Context(), nothing, platform=off).slugs == ("pager",)
    assert offered(channels, Context(), off) == [channels.get("pager")]


def test_selecting_a_disabled_member_of_a_set_is_refused(enterprise_tenant: Tenant) -> None:
    set_status("notifications.sms", "disabled", note="sms outage", changed_by="ops", via="api")
    with tenant_context(enterprise_tenant):
        with pytest.raises(ValidationError) as refused:
            engine.get_registry("notifications").select(
                ["email", "sms"], Context(tenant=enterprise_tenant)
            )
        assert refused.value.code == "disabled_by_platform"
        assert not Selection.objects.filter(registry="notifications").exists()
        assert "sms" not in engine.resolve("notifications").slugs
