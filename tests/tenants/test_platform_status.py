"""The platform page lists each strategy's platform status, and a tenant's fallback shows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from conditions import cache as switchyard_cache
from engine.models import StrategyState
from engine.platform.changes import set_status
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.helpers import store
from tests.redis_server import RedisServer, redis_server  # noqa: F401
from tests.tenants.test_round_trip import URLS, commands, get
from tests.tenants.test_round_trip import shared_cache as shared_cache  # the fixture
from tests.transactions import committed


@pytest.fixture
def platform_staff(public_tenant: Tenant) -> Client:
    with schema_context("public"):
        user = get_user_model().objects.create_user("operator", is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def test_the_platform_page_shows_each_strategys_status(
    platform_staff: Client, enterprise_tenant: Tenant
) -> None:
    store(enterprise_tenant, "invoice")
    set_status("payments.crypto", "disabled", note="provider outage", via="api")
    set_status("payments.invoice", "reserve", note="", via="api")
    StrategyState.objects.create(registry="payments", slug="gone")
    data = platform_staff.get("/platform/", {"format": "json"}).json()
    payments = [row for row in data["strategies"] if row["registry"] == "payments"]
    assert [(r["slug"], r["status"], r["note"], r["loads"]) for r in payments] == [
        ("card", "active", "", True),
        ("stripe", "active", "", True),
        ("invoice", "reserve", "", True),
        ("crypto", "disabled", "provider outage", True),
        ("gone", "active", "", False),
    ]
    html = platform_staff.get("/platform/").content.decode()
    assert 'id="status-payments-crypto" data-status="disabled"' in html
    assert "provider outage" in html
    assert "(class gone)" in html
    # The tenants' part shows the fallback: initech's stored invoice is in reserve now.
    (initech,) = [t for t in data["tenants"] if t["tenant"] == "initech"]
    (payments_state,) = [r for r in initech["registries"] if r["registry"] == "payments"]
    assert (payments_state["slug"], payments_state["stored"]) == ("card", "invoice")
    assert "held in reserve by the platform" in payments_state["skipped"][0]


@URLS
def test_a_warm_request_on_its_fallback_makes_one_round_trip_and_no_query(
    shared_cache: RedisServer, enterprise_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    with committed():
        write_selection("payments", "invoice", via="api", tenant=enterprise_tenant)
        set_status("payments.invoice", "disabled", note="provider outage", via="api")
    switchyard_cache.cache().clear()  # the write's invalidation markers, gone after their grace
    get("initech.localhost", "/payments/")  # cold
    get("initech.localhost", "/payments/")  # the host's schema is predicted from now on
    with django_assert_num_queries(0):
        sent = commands(shared_cache, lambda: get("initech.localhost", "/payments/"))
    assert sent == {"mget": 1}  # counted by Redis itself
    assert get("initech.localhost", "/payments/") == "card False"
    with committed():
        set_status("payments.invoice", "active", note="", via="api")
    assert get("initech.localhost", "/payments/") == "invoice False"  # its next request
