"""StrategyMiddleware: real requests through the tenant middleware chain, lazy and warm-free."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import iscoroutinefunction
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission as AuthPermission
from django.contrib.contenttypes.models import ContentType
from django.http import HttpRequest, HttpResponse
from django.template import Context as TemplateContext
from django.template import Template
from django.test import AsyncClient, Client, RequestFactory, override_settings
from django_tenants.utils import tenant_context

from conditions import Context, Permission
from engine import NoStrategyAvailable, Reason, StrategyNamespace
from engine.middleware import AsyncStrategyMiddleware, StrategyMiddleware
from engine.testing import override_condition
from example_site.strategies import Card, Crypto, Invoice
from tenants.models import Tenant
from tests.engine.core_support import ExtraIs
from tests.helpers import get, store

TEST_URLS = override_settings(ROOT_URLCONF="tests.engine.urls_core")


@TEST_URLS
def test_warm_resolution_costs_no_query_and_no_cache_call_of_its_own(
    enterprise_tenant: Tenant,
) -> None:
    store(enterprise_tenant, "invoice")
    cold = get("initech.localhost", "/resolve/").json()
    assert cold["slug"] == "invoice" and cold["reason"] == Reason.TENANT_SELECTION
    warm = get("initech.localhost", "/resolve/").json()
    assert warm == {
        "slug": "invoice",
        "same": True,  # attribute and item access share the memoised resolution
        "reason": "tenant_selection",
        "available": ["card", "invoice"],
        "queries": [],
        # The routing fetched the selections and the flag stamp in its own get_many (the
        # request's one round trip, counted on a real Redis in tests/tenants/test_round_trip.py).
        "cache_calls": [],
        "charge": "Invoiced 12.50, due in 30 days",
    }


@TEST_URLS
def test_a_warm_request_through_the_whole_chain_costs_no_query(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    get("globex.localhost", "/resolve/")
    with django_assert_num_queries(0):
        assert get("globex.localhost", "/resolve/").json()["slug"] == "card"


@TEST_URLS
def test_a_view_that_does_not_read_request_strategy_costs_nothing(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    get("globex.localhost", "/untouched/")  # warm the tenant lookup
    with django_assert_num_queries(0):
        assert get("globex.localhost", "/untouched/").json() == {"type": "StrategyNamespace"}


def test_no_strategy_left_is_the_only_error_that_escapes(pro_tenant: Tenant) -> None:
    with (
        TEST_URLS,
        override_condition(Crypto, Card, Invoice, False),
        pytest.raises(NoStrategyAvailable),
    ):
        get("globex.localhost", "/resolve/")


class Recording(StrategyMiddleware):
    contexts: list[Context] = []

    def get_context(self, request: HttpRequest) -> Context:
        context = Context.from_request(request, channel="mobile")
        self.contexts.append(context)
        return context


def test_the_context_is_built_once_and_only_when_read() -> None:
    Recording.contexts = []
    request = RequestFactory().get("/")
    seen: list[Any] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.strategy)  # type: ignore[attr-defined]
        return HttpResponse()

    Recording(view)(request)
    (namespace,) = seen
    assert isinstance(namespace, StrategyNamespace)
    assert Recording.contexts == []  # nothing built: the view never read it
    assert namespace.context is namespace.context
    assert len(Recording.contexts) == 1
    assert namespace.context.extra["channel"] == "mobile"


def test_get_context_is_the_hook_for_extras(pro_tenant: Tenant) -> None:
    request = RequestFactory().get("/")
    request.tenant = pro_tenant  # type: ignore[attr-defined]
    with override_condition(Card, ExtraIs("channel", "mobile")):
        Recording(lambda request: HttpResponse())(request)
        assert request.strategy.available("payments") == [Card]  # type: ignore[attr-defined]


def test_the_async_variant_runs_in_an_async_chain(pro_tenant: Tenant) -> None:
    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(type(request.strategy).__name__)  # type: ignore[attr-defined]

    middleware = AsyncStrategyMiddleware(view)
    assert iscoroutinefunction(middleware)
    response = asyncio.run(middleware(RequestFactory().get("/")))
    assert response.content == b"StrategyNamespace"


def test_under_asgi_it_adds_no_thread_hop_between_sync_middlewares(pro_tenant: Tenant) -> None:
    from tests.asgi_client import asgi_get
    from tests.engine import hop_support

    hop_support.THREADS.clear()
    chain = [
        "tenants.middleware.CachedTenantMiddleware",
        "tests.engine.hop_support.before",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "tests.engine.hop_support.RecordingStrategyMiddleware",
        "tests.engine.hop_support.after",
    ]
    with override_settings(MIDDLEWARE=chain, ROOT_URLCONF="tests.engine.hop_support"):
        response = asgi_get(AsyncClient(), "globex.localhost", "/")
    assert response.status_code == 200
    assert response.content == b"card"
    # Its sync neighbours and StrategyMiddleware itself ran on one thread: no hop between.
    assert [name for name, _ in hop_support.THREADS] == ["before", "strategy", "after", "view"]
    assert len({thread for _, thread in hop_support.THREADS}) == 1


def test_templates_read_request_strategy(pro_tenant: Tenant) -> None:
    request = RequestFactory().get("/")
    request.tenant = pro_tenant  # type: ignore[attr-defined]
    StrategyMiddleware(lambda request: HttpResponse())(request)
    template = Template(
        "{{ request.strategy.payments.label }} / {{ request.strategy.payments.registry.key }}"
        " / {% for s in request.strategy.payments.registry %}{{ s.slug }} {% endfor %}"
    )
    rendered = template.render(TemplateContext({"request": request}))
    assert rendered == "Credit card / payments / card stripe invoice crypto "


@TEST_URLS
def test_a_logged_in_member_with_the_permission_is_offered_invoice(pro_tenant: Tenant) -> None:
    # request.user is AuthenticationMiddleware's lazy object: permission leaves must see the
    # user behind it (and not fail closed on the wrapper).
    permission = next(
        leaf.args[0] for leaf in Invoice.condition.conditions if isinstance(leaf, Permission)
    )
    app_label, codename = permission.split(".")
    with tenant_context(pro_tenant):
        content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model="billing")
        grant, _ = AuthPermission.objects.get_or_create(
            codename=codename, content_type=content_type, defaults={"name": codename}
        )
        member = get_user_model().objects.create_user("member-with-invoice")
        member.user_permissions.add(grant)
    client = Client(HTTP_HOST="globex.localhost")
    with tenant_context(pro_tenant):
        client.force_login(member)
    assert client.get("/resolve/").json()["available"] == ["card", "invoice"]
