"""Selections in a plain Django project: stored, cached and read with no schemas at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection, connections

from conditions import Context
from conditions import cache as switchyard_cache
from engine import tenancy
from engine.models import Selection, SelectionHistory
from engine.storage import cache
from engine.storage.reads import stored_selections
from engine.storage.writes import clear_selection, write_selection
from tests.transactions import choices, committed, settled

pytestmark = pytest.mark.django_db


def test_the_project_really_has_no_django_tenants() -> None:
    assert type(connections["default"]).__module__ == "django.db.backends.postgresql.base"
    assert not apps.is_installed("django_tenants")
    assert not apps.is_installed("tenants")
    assert not hasattr(connection, "schema_name")
    assert tenancy.current_schema() == tenancy.PLAIN_SCHEMA == "public"


def test_write_and_clear_with_history() -> None:
    owner = get_user_model().objects.create_user("owner")
    write_selection("shipping", "courier", changed_by=owner, via="form")
    write_selection("shipping", "pickup", changed_by=owner, via="form")
    clear_selection("shipping", via="command")
    assert not Selection.objects.exists()
    assert [
        (h.before_slug, h.after_slug, h.via, h.changed_by_id)
        for h in SelectionHistory.objects.order_by("id")
    ] == [
        (None, "courier", "form", owner.pk),
        ("courier", "pickup", "form", owner.pk),
        ("pickup", None, "command", None),
    ]


def test_a_tenant_argument_means_nothing_without_schemas() -> None:
    write_selection("shipping", "pickup", via="api", tenant=object())
    assert Selection.objects.get().slug == "pickup"


def test_reads_are_cached_under_the_one_schema(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    alice = get_user_model().objects.create_user("alice")
    with settled():
        write_selection("shipping", "pickup", via="api")
        write_selection("shipping", "courier", user=alice, via="api")
    with django_assert_num_queries(1):
        stored = stored_selections(Context(user=alice))
    assert stored.schema == "public"
    assert (stored.tenant_choice("shipping"), stored.user_choice("shipping")) == (
        "pickup",
        "courier",
    )
    with django_assert_num_queries(0):
        assert stored_selections(Context(user=alice)) == stored
    key = cache.key_for("public", alice.pk)
    assert choices(switchyard_cache.cache().get(key)) == {"shipping": "courier"}


def test_a_committed_write_invalidates_and_the_next_read_sees_it() -> None:
    stored_selections(Context())
    with committed():
        write_selection("shipping", "pickup", via="api")
    assert switchyard_cache.cache().get(cache.key_for("public")) == cache.INVALIDATED
    assert stored_selections(Context()).tenant_choice("shipping") == "pickup"


def test_queryset_updates_invalidate_too() -> None:
    with settled():
        write_selection("shipping", "pickup", via="api")
    assert stored_selections(Context()).tenant_choice("shipping") == "pickup"
    with committed():
        Selection.objects.update(slug="courier")
    assert stored_selections(Context()).tenant_choice("shipping") == "courier"


def test_a_set_is_stored_and_read_warm_with_no_schemas(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    from engine import Registry, Strategy, StrategyNamespace
    from engine.testing import isolated_registries

    with isolated_registries():

        class Alerts(Registry):
            key = "alerts"
            multiple = True
            mandatory = ("mail",)

        for slug in ("mail", "pager"):
            type(slug.title(), (Strategy,), {"registry": Alerts, "slug": slug})
        with settled():
            Alerts.select(["pager", "mail"], Context())
        assert Selection.objects.get(registry="alerts").slug == "pager,mail"
        StrategyNamespace(Context()).get("alerts")  # fills the cache
        with django_assert_num_queries(0):
            in_force = StrategyNamespace(Context()).get("alerts")
        assert [strategy.slug for strategy in in_force] == ["pager", "mail"]
