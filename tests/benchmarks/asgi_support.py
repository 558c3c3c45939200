"""Views and middleware chains for the request benchmarks (test_asgi_, test_request_benchmark)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from conditions import cache

TENANT_MIDDLEWARE = "django_tenants.middleware.main.TenantMainMiddleware"


def plain_tenants_chain() -> list[str]:
    """The example site's chain without Switchyard: stock routing and Django's middlewares."""
    return [
        TENANT_MIDDLEWARE if path.endswith("CachedTenantMiddleware") else path
        for path in settings.MIDDLEWARE
        if path.startswith(("django.", "tenants."))
    ]


class OneRoundTripMiddleware:
    """The floor of any routing with one cache round trip: ``keys`` fetched in one
    ``get_many`` of Switchyard's alias and ``tenant`` (held in memory) routed to, nothing
    decided, checked or decoded past what the cache backend does.

    ``prepare()`` sets what it fetches and routes to before a chain using it is built.
    """

    tenant: ClassVar[Any] = None
    keys: ClassVar[Sequence[str]] = ()

    @classmethod
    def prepare(cls, tenant: Any, keys: Sequence[str]) -> None:
        cls.tenant, cls.keys = tenant, tuple(keys)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        cache.cache().get_many(self.keys)
        request.tenant = self.tenant  # type: ignore[attr-defined]
        connection.set_tenant(self.tenant)  # type: ignore[attr-defined]
        return self.get_response(request)


def strategy_page(request: HttpRequest) -> HttpResponse:
    """A sync view that reads request.strategy (the example site's chain)."""
    return HttpResponse(request.strategy.payments.slug)  # type: ignore[attr-defined]


def plain_page(request: HttpRequest) -> HttpResponse:
    """The same page without Switchyard (the plain django-tenants chain)."""
    return HttpResponse(request.tenant.schema_name)  # type: ignore[attr-defined]


def plain_user_page(request: HttpRequest) -> HttpResponse:
    """The plain page for a signed-in user: the tenant and the user (its session read)."""
    return HttpResponse(f"{request.tenant.schema_name} {request.user.pk}")  # type: ignore[attr-defined]


def bare_page(request: HttpRequest) -> HttpResponse:
    """A constant answer: what the handler costs with no middleware at all."""
    return HttpResponse("bare")


urlpatterns = [
    path("strategy/", strategy_page),
    path("plain/", plain_page),
    path("plain-user/", plain_user_page),
    path("bare/", bare_page),
]
