"""The platform state without django-tenants: one schema, the same sync, kill switch and reads."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

import engine
from conditions import Context
from engine import Reason, SkipReason
from engine.models import Selection, StrategyState, StrategyStateChange
from tests.plain.shop.strategies import ShippingMethods
from tests.transactions import settled

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_migrate_synced_the_strategies_and_sync_is_idempotent() -> None:
    assert set(StrategyState.objects.values_list("registry", "slug")) == {
        ("shipping", "post"),
        ("shipping", "courier"),
        ("shipping", "pickup"),
    }
    assert run("switchyard_sync") == "in sync: nothing to do\n"


def test_the_kill_switch_without_tenants(django_assert_num_queries: Callable[..., Any]) -> None:
    with settled():  # committed, as far as the cache is concerned
        ShippingMethods.select("pickup", Context(), via="api")
    client = Client()
    assert client.get("/shipping/").json()["slug"] == "pickup"
    run("switchyard_disable", "shipping.pickup", "--note", "depot closed", "--by", "ops")
    resolution = engine.resolve("shipping")
    assert resolution.slug != "pickup"
    assert resolution.skipped[0].why is SkipReason.DISABLED_BY_PLATFORM
    assert resolution.skipped[0].note == "depot closed"
    with pytest.raises(ValidationError) as refused:
        ShippingMethods.select("pickup", Context(), via="api")
    assert refused.value.code == "disabled_by_platform"
    assert client.get("/shipping/").json()["slug"] != "pickup"
    with django_assert_num_queries(0):  # warm: the state costs no query
        assert client.get("/shipping/").json()["slug"] != "pickup"
    run("switchyard_enable", "shipping.pickup", "--by", "ops")
    assert client.get("/shipping/").json() == {
        "slug": "pickup",
        "reason": str(Reason.TENANT_SELECTION),
    }
    assert Selection.objects.get().slug == "pickup"
    assert StrategyStateChange.objects.filter(slug="pickup", changed_by="command:ops").count() == 2
