"""Registries in a plain Django project: discovered, resolved, selected and served per request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client
from waffle.models import Flag

import engine
from conditions import Context
from engine import Reason, get_registry
from engine.models import Selection
from tests.plain.shop.strategies import ShippingMethods
from tests.transactions import settled

pytestmark = pytest.mark.django_db


def test_the_apps_strategies_were_discovered() -> None:
    assert get_registry("shipping") is ShippingMethods
    assert [strategy.slug for strategy in ShippingMethods] == ["post", "courier", "pickup"]


def test_resolution_follows_the_stored_choice() -> None:
    assert engine.resolve("shipping").reason == Reason.DEFAULT
    ShippingMethods.select("pickup", Context(), via="api")
    resolution = engine.resolve("shipping")
    assert (resolution.strategy_class.slug, resolution.reason) == (
        "pickup",
        Reason.TENANT_SELECTION,
    )
    assert resolution.strategy.quote(1000) == 0


def test_a_users_own_choice_comes_first() -> None:
    alice = get_user_model().objects.create_user("alice")
    ShippingMethods.select("pickup", Context(), via="api")
    ShippingMethods.select("post", Context(user=alice), user=alice, via="api")
    resolution = engine.resolve("shipping", user=alice)
    assert (resolution.strategy_class.slug, resolution.reason) == ("post", Reason.USER_SELECTION)


def test_selecting_an_unavailable_strategy_saves_nothing() -> None:
    with pytest.raises(ValidationError) as caught:
        ShippingMethods.select("courier", Context(), via="api")
    assert caught.value.code == "unavailable"
    assert not Selection.objects.exists()


def test_waffle_flags_gate_strategies_without_tenants(settings: Any) -> None:
    Flag.objects.create(name="courier", everyone=True)
    ShippingMethods.select("courier", Context(), via="api")
    assert engine.resolve("shipping").strategy_class.slug == "courier"


def test_settings_gate_strategies_without_tenants(settings: Any) -> None:
    with settled():
        ShippingMethods.select("pickup", Context(), via="api")
    settings.SHOP_CLOSED = True
    resolution = engine.resolve("shipping")
    assert resolution.strategy_class.slug == "post"
    assert [skipped.slug for skipped in resolution.skipped] == ["pickup"]


def test_request_strategy_through_the_middleware(
    django_assert_num_queries: Callable[..., Any],
) -> None:
    with settled():
        ShippingMethods.select("pickup", Context(), via="api")
    client = Client()
    assert client.get("/shipping/").json() == {"slug": "pickup", "reason": "tenant_selection"}
    # Warm: the stored selection comes from the cache, the flag snapshot from memory.
    with django_assert_num_queries(0):
        response = client.get("/shipping/")
    assert response.json() == {"slug": "pickup", "reason": "tenant_selection"}
