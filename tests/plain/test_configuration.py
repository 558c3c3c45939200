"""Strategy configuration in a plain Django project: stored, cached and read with no schemas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django import forms
from django.test import override_settings

from conditions import Context
from engine import Registry, SecretField, Strategy, StrategyConfig
from engine.models import ConfigurationHistory, StrategyConfiguration
from engine.testing import isolated_registries
from tests.transactions import settled

pytestmark = pytest.mark.django_db

KEY = "27tDmwog4t0dAKnI_QZdGp2fZmO9_g8SVTVu6gTX8M4="


@pytest.fixture
def carriers() -> Iterator[type[Registry]]:
    with (
        isolated_registries(),
        override_settings(SWITCHYARD={"CACHE": "switchyard", "SECRET_KEYS": [KEY]}),
    ):

        class Carriers(Registry):
            key = "plain_carriers"
            default = "post"

        class Post(Strategy):
            registry = Carriers
            slug = "post"

        class Courier(Strategy):
            registry = Carriers
            slug = "courier"

            class Config(StrategyConfig):
                account = forms.CharField()
                api_key = SecretField()

        yield Carriers


def test_configured_read_from_the_cache_with_no_query(
    carriers: type[Registry], django_assert_num_queries: Callable[..., Any]
) -> None:
    assert carriers.resolve(Context()).slug == "post"  # courier: not configured
    with settled():
        carriers.configure(
            "courier", {"account": "A-1", "api_key": "key-0123456789abc"}, Context(), select=True
        )
    assert ConfigurationHistory.objects.get().after["api_key"] == "••••9abc"
    assert "key-0123" not in str(StrategyConfiguration.objects.get().secrets)
    carriers.resolve(Context())  # fills the cache
    with django_assert_num_queries(0):
        courier = carriers.resolve(Context()).strategy
        assert (courier.config.account, courier.config.api_key) == ("A-1", "key-0123456789abc")
