"""The async API (aget, aavailable, aexplain, aresolution, aresolve, aselect) and async views.

Requests go through the real middleware chain with Django's AsyncClient, run from a sync test
with ``async_to_sync``: the views run in an event loop, and their thread hops come back to the
test's thread and its database connection (the test transaction's data is visible).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import SynchronousOnlyOperation
from django.test import AsyncClient, override_settings
from django_tenants.utils import schema_context, tenant_context

import engine
from conditions import Context
from conditions import cache as switchyard_cache
from conditions.snapshot import flags_changed
from engine import StrategyNamespace, get_registry
from engine.models import Selection
from engine.storage.writes import write_selection
from tenants.flags import PlatformFlag
from tenants.models import Tenant
from tests.asgi_client import asgi_get
from tests.helpers import make_user
from tests.transactions import committed

ASYNC_URLS = override_settings(ROOT_URLCONF="tests.engine.urls_async")


@pytest.fixture(autouse=True)
def _async_urls() -> Iterator[None]:
    with ASYNC_URLS:
        yield


def get(host: str, path: str, user: Any = None) -> Any:
    client = AsyncClient()
    if user is not None:
        with schema_context(host.split(".")[0]):
            client.force_login(user)
    return asgi_get(client, host, path)


def test_an_async_view_resolves_on_a_cold_cache(pro_tenant: Tenant) -> None:
    with committed():
        write_selection("payments", "card", via="api", tenant=pro_tenant)
    switchyard_cache.cache().clear()
    response = get("globex.localhost", "/async/resolve/")
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "card"
    assert body["same"] is True
    assert body["reason"] == "tenant_selection"
    assert "card" in body["available"] and body["available"] == body["explained"]


def test_a_new_users_permission_is_read_not_silently_unmet(free_tenant: Tenant) -> None:
    # acme is on the free plan: invoice needs the permission, read from the database.
    allowed = make_user(free_tenant, "billing", "example_site.use_invoice")
    body = get("acme.localhost", "/async/resolve/", user=allowed).json()
    assert "invoice" in body["available"]
    plain = make_user(free_tenant, "plain")
    assert "invoice" not in get("acme.localhost", "/async/resolve/", user=plain).json()["available"]


def test_after_a_flag_change_the_async_view_still_lists_and_resolves(
    enterprise_tenant: Tenant,
) -> None:
    before = get("initech.localhost", "/async/resolve/").json()["available"]
    with committed():
        PlatformFlag.objects.update_or_create(name="crypto_beta", defaults={"everyone": True})
        flags_changed()
    after = get("initech.localhost", "/async/resolve/").json()
    assert after["available"], "no strategy listed after a flag change"
    assert "crypto" in after["available"] and "crypto" not in before


def test_sync_access_in_an_async_view_names_the_async_api(pro_tenant: Tenant) -> None:
    response = get("globex.localhost", "/async/sync-read/")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "NeedsAwait"
    assert "await request.strategy.aget('payments')" in body["message"]


def test_sync_access_in_an_event_loop_never_blocks_it_on_the_cache(pro_tenant: Tenant) -> None:
    namespace = StrategyNamespace(Context(tenant=pro_tenant))

    async def read() -> Any:
        return namespace.payments

    with pytest.raises(engine.NeedsAwait) as caught:
        asyncio.run(read())
    assert isinstance(caught.value, SynchronousOnlyOperation)


class Recording(StrategyNamespace):
    """A namespace that notes the thread each resolution runs on."""

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.threads: list[int] = []
        self.depth = 0  # a child registry resolves its parent inside its own resolution

    def resolution(self, key: Any, *, tenant_level: bool = False) -> Any:
        if not self.depth:
            self.threads.append(threading.get_ident())
        self.depth += 1
        try:
            return super().resolution(key, tenant_level=tenant_level)
        finally:
            self.depth -= 1


def test_the_first_await_does_the_io_in_one_hop_and_the_rest_run_in_the_loop(
    pro_tenant: Tenant, django_assert_max_num_queries: Any
) -> None:
    namespace = Recording(Context(tenant=pro_tenant))

    async def view() -> tuple[int, list[str]]:
        slugs = [(await namespace.aresolution(key)).slug for key in namespace]
        return threading.get_ident(), slugs

    with django_assert_max_num_queries(2):  # the selections (and the flag snapshot if cold)
        loop_thread, slugs = async_to_sync(view)()
    assert len(slugs) == len(list(namespace)) > 1
    first, *rest = namespace.threads
    assert first != loop_thread  # the one hop: the cache round trip and the database
    assert rest == [loop_thread] * len(rest)  # pure: resolved in the event loop


def test_warm_async_resolution_costs_no_query(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    get("globex.localhost", "/async/resolve/")  # warms the cache
    namespace = StrategyNamespace(Context(tenant=pro_tenant))
    with django_assert_num_queries(0):
        async_to_sync(namespace.aget)("payments")


def test_aresolve_for_three_tenants_at_once_never_mixes_schemas(
    free_tenant: Tenant, pro_tenant: Tenant, enterprise_tenant: Tenant
) -> None:
    chosen = {free_tenant: "card", pro_tenant: "crypto", enterprise_tenant: "invoice"}
    with override_settings(PAYMENTS_LOCKDOWN=False):
        PlatformFlag.objects.update_or_create(name="crypto_beta", defaults={"everyone": True})
        flags_changed()
        for tenant, slug in chosen.items():
            with committed():
                write_selection("payments", slug, via="api", tenant=tenant)
        switchyard_cache.cache().clear()

        async def all_at_once() -> list[str]:
            tenants = list(chosen) * 5
            found = await asyncio.gather(
                *(engine.aresolve("payments", tenant=tenant) for tenant in tenants)
            )
            return [resolution.slug for resolution in found]

        slugs = async_to_sync(all_at_once)()
    assert slugs == [chosen[tenant] for tenant in list(chosen) * 5]


def test_aselect_validates_and_stores_in_one_hop(pro_tenant: Tenant) -> None:
    payments = get_registry("payments")
    context = Context(tenant=pro_tenant)

    async def choose() -> None:
        await payments.aselect("card", context, via="api")

    async_to_sync(choose)()
    with tenant_context(pro_tenant):
        assert Selection.objects.get(user=None).slug == "card"

    async def clear() -> None:
        await payments.adeselect(context, via="api")

    async_to_sync(clear)()
    with tenant_context(pro_tenant):
        assert not Selection.objects.exists()
