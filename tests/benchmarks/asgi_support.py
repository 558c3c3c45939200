"""Views and middleware variants for tests/benchmarks/test_asgi_benchmark.py."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path


def strategy_page(request: HttpRequest) -> HttpResponse:
    """A sync view that reads request.strategy (the example site's chain)."""
    return HttpResponse(request.strategy.payments.slug)  # type: ignore[attr-defined]


def plain_page(request: HttpRequest) -> HttpResponse:
    """The same page without Switchyard (the plain django-tenants chain)."""
    return HttpResponse(request.tenant.schema_name)  # type: ignore[attr-defined]


urlpatterns = [path("strategy/", strategy_page), path("plain/", plain_page)]
