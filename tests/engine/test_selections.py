"""engine.storage: validated atomic writes with history, and the one-round-trip read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import override_settings
from django_tenants.utils import schema_context, tenant_context

import engine
from conditions import Context
from conditions import cache as switchyard_cache
from conditions import prefetch as prefetch_module
from conditions.snapshot import snapshot_stamp_key
from engine.models import Selection, SelectionHistory
from engine.resolution import Reason, StoredSelections
from engine.storage import cache
from engine.storage.reads import stored_selections
from engine.storage.writes import clear_selection, write_selection
from tenants.models import Tenant
from tests.helpers import make_user
from tests.transactions import choices, committed, settled

# The keys condition modules declared (the list object itself: later declarations included).
DECLARED_KEYS = prefetch_module._required


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant):
        Selection.objects.exists()  # the SET search_path of the switch, out of query counts
        yield free_tenant


@pytest.fixture
def cache_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    """Every call the engine makes to its cache alias: (method, keys); one per round trip."""
    calls: list[tuple[str, tuple[str, ...]]] = []
    alias = switchyard_cache.cache()
    depth = [0]  # a backend's get_many may call its own get: count the outer call only
    for method in ("get", "get_many", "add", "set", "set_many", "delete", "delete_many"):
        original = getattr(alias, method)

        def recording(*args: Any, _name: str = method, _original: Any = original, **kw: Any) -> Any:
            if depth[0] == 0:
                keys = args[0] if args else ()
                calls.append((_name, (keys,) if isinstance(keys, str) else tuple(keys)))
            depth[0] += 1
            try:
                return _original(*args, **kw)
            finally:
                depth[0] -= 1

        monkeypatch.setattr(alias, method, recording)
    return calls


@pytest.fixture(autouse=True)
def no_required_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exact cache-call counts: no condition module's keys unless a test declares some."""
    monkeypatch.setattr(prefetch_module, "_required", [])


def history() -> list[tuple[str, Any, str | None, str | None, str, Any]]:
    return [
        (h.registry, h.user_id, h.before_slug, h.after_slug, h.via, h.changed_by_id)
        for h in SelectionHistory.objects.order_by("id")
    ]


# write_selection / clear_selection -----------------------------------------------------------


def test_write_stores_and_records_history(acme: Tenant) -> None:
    owner = make_user(None, "owner")
    selection = write_selection("payments", "invoice", changed_by=owner, via="form")
    assert isinstance(selection, Selection)
    stored = Selection.objects.get()
    assert (stored.registry, stored.slug, stored.user, stored.changed_by) == (
        "payments",
        "invoice",
        None,
        owner,
    )
    assert history() == [("payments", None, None, "invoice", "form", owner.pk)]


def test_write_replaces_and_records_before_and_after(acme: Tenant) -> None:
    write_selection("payments", "card", via="api")
    write_selection("payments", "invoice", via="command")
    assert Selection.objects.get().slug == "invoice"
    assert history()[-1] == ("payments", None, "card", "invoice", "command", None)


def test_writing_the_stored_slug_changes_nothing(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    write_selection("payments", "card", via="api")
    # SAVEPOINT, SET LOCAL search_path, SELECT ... FOR UPDATE, RELEASE
    with django_assert_num_queries(4):
        write_selection("payments", "card", via="api")
    assert len(history()) == 1


def test_new_selection_costs_a_fixed_number_of_queries(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    # SAVEPOINT, SET LOCAL search_path, SELECT FOR UPDATE, SAVEPOINT, INSERT, RELEASE,
    # INSERT history, the schema's generation, RELEASE
    with django_assert_num_queries(9):
        write_selection("payments", "card", via="api")


def test_user_selection_is_separate_from_the_tenants(acme: Tenant) -> None:
    alice = make_user(None, "alice")
    write_selection("payments", "card", via="api")
    write_selection("payments", "invoice", user=alice, via="api")
    assert Selection.objects.get(user=None).slug == "card"
    assert Selection.objects.get(user=alice).slug == "invoice"
    assert history()[-1] == ("payments", alice.pk, None, "invoice", "api", None)


def test_clear_removes_and_records_history(acme: Tenant) -> None:
    admin = make_user(None, "admin")
    write_selection("payments", "card", via="api")
    clear_selection("payments", changed_by=admin, via="admin")
    assert not Selection.objects.exists()
    assert history()[-1] == ("payments", None, "card", None, "admin", admin.pk)


def test_clearing_nothing_is_not_an_error(acme: Tenant) -> None:
    clear_selection("payments", via="api")
    assert history() == []


@pytest.mark.parametrize(
    ("registry", "slug", "message"),
    [
        ("", "card", "Registry key '' is not valid: expected 1 to 100 characters"),
        ("pay ments", "card", "Registry key 'pay ments' is not valid"),
        ("p" * 101, "card", "expected 1 to 100 characters"),
        ("payments", "", "Strategy slug '' is not valid"),
        ("payments", "x" * 101, "Strategy slug"),
        ("payments", "card\x00", "contains control characters"),
        ("payments", 7, "Strategy slug must be a string, got int"),
    ],
)
def test_malformed_values_are_refused_and_nothing_is_saved(
    acme: Tenant, registry: Any, slug: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        write_selection(registry, slug, via="api")
    assert not Selection.objects.exists()
    assert not SelectionHistory.objects.exists()


def test_malformed_via_and_users_are_refused(acme: Tenant) -> None:
    with pytest.raises(ValidationError, match="via 'an api call' is not valid"):
        write_selection("payments", "card", via="an api call")
    with pytest.raises(ValidationError, match="user must be a saved user or None") as caught:
        write_selection("payments", "card", user=AnonymousUser(), via="api")
    assert caught.value.code == "invalid_user"
    with pytest.raises(ValidationError, match="changed_by must be a saved user or None"):
        clear_selection("payments", changed_by=get_user_model()(username="x"), via="api")
    assert not Selection.objects.exists()


def test_a_failing_write_leaves_everything_as_it_was(acme: Tenant) -> None:
    write_selection("payments", "card", via="api")
    with pytest.raises(RuntimeError), transaction.atomic():
        write_selection("payments", "invoice", via="api")
        raise RuntimeError("the caller's transaction fails after the write")
    assert Selection.objects.get().slug == "card"
    assert len(history()) == 1


def test_tenant_argument_writes_into_that_schema_and_comes_back(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    assert connection.schema_name == "public"
    write_selection("payments", "invoice", via="provisioning", tenant=pro_tenant)
    assert connection.schema_name == "public"
    with tenant_context(pro_tenant):
        assert Selection.objects.get().slug == "invoice"
    with tenant_context(free_tenant):
        assert not Selection.objects.exists()
    clear_selection("payments", via="provisioning", tenant=pro_tenant)
    with tenant_context(pro_tenant):
        assert not Selection.objects.exists()


def test_the_public_schema_has_its_own_selections(public_tenant: Tenant, acme: Tenant) -> None:
    write_selection("payments", "card", via="api", tenant=public_tenant)
    with schema_context("public"):
        assert Selection.objects.get().slug == "card"
    assert not Selection.objects.exists()  # back in acme, which stored nothing


# stored_selections ---------------------------------------------------------------------------


def test_cold_read_is_one_query_and_one_round_trip_then_warm_reads_are_free(
    acme: Tenant,
    cache_calls: list[tuple[str, tuple[str, ...]]],
    django_assert_num_queries: Callable[..., Any],
) -> None:
    with settled():
        write_selection("payments", "invoice", via="api")
    cache_calls.clear()
    with django_assert_num_queries(1):
        stored = stored_selections(Context(tenant=acme))
    assert stored.tenant_choice("payments") == "invoice"
    assert stored.tenant_choice("exports") is None
    assert [name for name, _ in cache_calls] == ["get_many", "add"]
    cache_calls.clear()
    with django_assert_num_queries(0):
        stored = stored_selections(Context(tenant=acme))
    assert stored.tenant_choices == {"payments": "invoice"}
    assert cache_calls == [("get_many", (cache.key_for("acme"),))]


def test_nothing_stored_is_cached_too(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    with django_assert_num_queries(1):
        assert stored_selections(Context(tenant=acme)).tenant_choices == {}
    with django_assert_num_queries(0):
        assert stored_selections(Context(tenant=acme)).tenant_choices == {}


def test_one_round_trip_fetches_tenant_user_and_required_keys(
    acme: Tenant,
    cache_calls: list[tuple[str, tuple[str, ...]]],
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Callable[..., Any],
) -> None:
    monkeypatch.setattr(prefetch_module, "_required", ["switchyard:test:stamp"])
    alice = make_user(None, "alice")
    with settled():
        write_selection("payments", "card", via="api")
        write_selection("payments", "invoice", user=alice, via="api")
    switchyard_cache.cache().set("switchyard:test:stamp", 42)
    stored_selections(Context(tenant=acme, user=alice))  # warms both keys
    cache_calls.clear()
    context = Context(tenant=acme, user=alice)
    with django_assert_num_queries(0):
        stored = stored_selections(context)
        again = stored_selections(context)  # memoised on the context: no second round trip
    assert again is stored
    assert (stored.tenant_choice("payments"), stored.user_choice("payments")) == ("card", "invoice")
    assert cache_calls == [
        (
            "get_many",
            (cache.key_for("acme"), cache.key_for("acme", alice.pk), "switchyard:test:stamp"),
        )
    ]
    assert context.prefetched == {"switchyard:test:stamp": 42}


def test_the_conditions_required_keys_ride_along(
    acme: Tenant, cache_calls: list[tuple[str, tuple[str, ...]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real required keys, whatever the condition modules declared.
    monkeypatch.setattr(prefetch_module, "_required", DECLARED_KEYS)
    context = Context(tenant=acme)
    stored_selections(context)
    first = cache_calls[0]
    assert first == ("get_many", (cache.key_for("acme"), *prefetch_module.required_keys()))
    assert set(context.prefetched or {}) == set(prefetch_module.required_keys())


def test_anonymous_users_read_only_the_tenants_key(
    acme: Tenant, cache_calls: list[tuple[str, tuple[str, ...]]]
) -> None:
    stored = stored_selections(Context(tenant=acme, user=AnonymousUser()))
    assert stored.user_choices == {}
    assert cache_calls[0] == ("get_many", (cache.key_for("acme"),))


def test_user_choices_are_those_of_the_contexts_user(acme: Tenant) -> None:
    alice, bob = make_user(None, "alice"), make_user(None, "bob")
    write_selection("payments", "invoice", user=alice, via="api")
    assert stored_selections(Context(tenant=acme, user=alice)).user_choices == {
        "payments": "invoice"
    }
    assert stored_selections(Context(tenant=acme, user=bob)).user_choices == {}


def test_schema_comes_from_the_context_tenant_even_from_another_schema(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    write_selection("payments", "invoice", via="api", tenant=pro_tenant)
    with tenant_context(free_tenant):
        stored = stored_selections(Context(tenant=pro_tenant))
        assert connection.schema_name == "acme"
    assert stored == StoredSelections("globex", {"payments": "invoice"}, {})


def test_without_a_tenant_the_connections_schema_is_read(acme: Tenant) -> None:
    write_selection("payments", "crypto", via="api")
    assert stored_selections(Context()).schema == "acme"
    assert stored_selections(Context()).tenant_choice("payments") == "crypto"


def test_a_transaction_reads_its_own_writes_and_caches_nothing_until_it_commits(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    with settled():
        write_selection("payments", "card", via="api")
    stored_selections(Context(tenant=acme))  # cache warm: card
    with transaction.atomic():
        write_selection("payments", "invoice", via="api")
        with django_assert_num_queries(1):
            assert stored_selections(Context(tenant=acme)).tenant_choice("payments") == "invoice"
        transaction.set_rollback(True)
    # Rolled back: the cache still says card, which is what the database says.
    assert choices(switchyard_cache.cache().get(cache.key_for("acme"))) == {"payments": "card"}
    assert stored_selections(Context(tenant=acme)).tenant_choice("payments") == "card"


def test_after_a_commit_readers_use_the_database_but_do_not_refill_at_once(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    stored_selections(Context(tenant=acme))
    with committed():
        write_selection("payments", "invoice", via="api")
    for _ in range(2):
        with django_assert_num_queries(1):
            assert stored_selections(Context(tenant=acme)).tenant_choice("payments") == "invoice"
    assert switchyard_cache.cache().get(cache.key_for("acme")) == cache.INVALIDATED


# A real Redis client pointed at a port nothing listens on: every call fails at once.
UNREACHABLE_CACHES = {
    **settings.CACHES,
    "switchyard": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
}


def test_a_cache_outage_falls_back_to_the_database(
    acme: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    with settled():
        write_selection("payments", "invoice", via="api")
    with override_settings(CACHES=UNREACHABLE_CACHES):
        assert stored_selections(Context(tenant=acme)).tenant_choice("payments") == "invoice"
        with committed():
            write_selection("payments", "card", via="api")  # invalidation fails, write stands
        assert Selection.objects.get().slug == "card"
        assert stored_selections(Context(tenant=acme)).tenant_choice("payments") == "card"
    assert "cache (alias 'switchyard') failed to read" in caplog.text
    assert "Error calling" not in caplog.text  # the commit hook did not raise


# Through the registries ----------------------------------------------------------------------


def test_resolution_uses_the_stored_choice_with_one_round_trip_for_all_registries(
    enterprise_tenant: Tenant,
    cache_calls: list[tuple[str, tuple[str, ...]]],
    django_assert_num_queries: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The platform state rides on the flag snapshot, whose stamp every resolution reads.
    monkeypatch.setattr(prefetch_module, "_required", [snapshot_stamp_key()])
    with tenant_context(enterprise_tenant), settled():
        write_selection("payments", "invoice", via="api")
    context = Context(tenant=enterprise_tenant)
    with tenant_context(enterprise_tenant):
        engine.resolve("payments", context=context)  # cold
        cache_calls.clear()
        context = Context(tenant=enterprise_tenant)
        with django_assert_num_queries(0):
            resolution = engine.resolve("payments", context=context)
            engine.resolve("payments", context=context)
    assert (resolution.strategy_class.slug, resolution.reason) == (
        "invoice",
        Reason.TENANT_SELECTION,
    )
    assert [name for name, _ in cache_calls] == ["get_many"]
    assert snapshot_stamp_key() in cache_calls[0][1]
