"""engine.storage.reads.read_many: many tenants' selections in one round trip and one query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django_tenants.utils import tenant_context

from conditions import Context
from conditions import cache as switchyard_cache
from engine.storage import cache, generations
from engine.storage.reads import MEMO, read_many, stored_selections
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.transactions import committed, settled

CHOICES = {"acme": "card", "globex": "crypto", "initech": "invoice"}


@pytest.fixture
def tenants(free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant) -> list[Tenant]:
    with settled():
        for tenant in (free_tenant, pro_tenant, enterprise_tenant):
            write_selection("payments", CHOICES[tenant.schema_name], via="api", tenant=tenant)
    return [free_tenant, pro_tenant, enterprise_tenant]


def contexts_of(tenants: list[Tenant]) -> list[Context]:
    return [Context(tenant=tenant) for tenant in tenants]


def test_every_context_gets_its_own_schemas_selections_in_one_query(
    tenants: list[Tenant], django_assert_num_queries: Callable[..., Any]
) -> None:
    contexts = contexts_of(tenants)
    with django_assert_num_queries(1):  # the rows and generations of all three schemas
        read_many(contexts)
    with django_assert_num_queries(0):  # memoised: resolving reads nothing more
        for tenant, context in zip(tenants, contexts, strict=True):
            stored = stored_selections(context)
            assert stored.schema == tenant.schema_name
            assert stored.tenant_choice("payments") == CHOICES[tenant.schema_name]


def test_warm_it_costs_no_query_and_the_entries_are_the_ones_a_single_read_fills(
    tenants: list[Tenant], django_assert_num_queries: Callable[..., Any]
) -> None:
    read_many(contexts_of(tenants))
    filled = switchyard_cache.get_many([cache.key_for(t.schema_name) for t in tenants])
    assert {key: value[1] for key, value in filled.items()} == {
        cache.key_for(schema): {"payments": slug} for schema, slug in CHOICES.items()
    }
    with django_assert_num_queries(0):
        read_many(contexts_of(tenants))


def test_only_the_stale_schemas_are_read_again(
    tenants: list[Tenant], django_assert_num_queries: Callable[..., Any]
) -> None:
    read_many(contexts_of(tenants))
    generations.learned(generations.scope_of("globex"), 10**9)  # globex's entry is now stale
    contexts = contexts_of(tenants)
    with django_assert_num_queries(1) as captured:
        read_many(contexts)
    (query,) = captured.captured_queries
    assert '"globex"."engine_selection"' in query["sql"]
    assert '"acme"' not in query["sql"] and '"initech"' not in query["sql"]
    assert stored_selections(contexts[1]).tenant_choice("payments") == "crypto"


def test_an_invalidation_marker_is_not_overwritten(tenants: list[Tenant]) -> None:
    acme = tenants[0]
    with committed():
        write_selection("payments", "invoice", via="api", tenant=acme)
    assert switchyard_cache.get(cache.key_for("acme")) == cache.INVALIDATED
    contexts = contexts_of(tenants)
    read_many(contexts)
    assert stored_selections(contexts[0]).tenant_choice("payments") == "invoice"
    assert switchyard_cache.get(cache.key_for("acme")) == cache.INVALIDATED


def test_contexts_with_users_are_refused(tenants: list[Tenant]) -> None:
    with tenant_context(tenants[0]):
        user = get_user_model().objects.create_user("reader")
    context = Context(tenant=tenants[0], user=user)
    with pytest.raises(ValueError, match="tenant-level selections"):
        read_many([context])
    assert MEMO not in context.extra
