"""Views and middleware chains for the request benchmarks (test_asgi_, test_request_benchmark)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path

TENANT_MIDDLEWARE = "django_tenants.middleware.main.TenantMainMiddleware"


def plain_tenants_chain() -> list[str]:
    """The example site's chain without Switchyard: stock routing and Django's middlewares."""
    return [
        TENANT_MIDDLEWARE if path.endswith("CachedTenantMiddleware") else path
        for path in settings.MIDDLEWARE
        if path.startswith(("django.", "tenants."))
    ]


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
