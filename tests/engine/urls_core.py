"""A tenant URLconf for the middleware tests: views that read request.strategy and measure."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.test.utils import CaptureQueriesContext
from django.urls import path

from conditions import cache as switchyard_cache


def resolve_payments(request: HttpRequest) -> JsonResponse:
    """Resolve ``payments`` and report the SQL queries and cache calls that took."""
    request.user.is_authenticated  # noqa: B018 - load the session's user outside the count
    calls: list[str] = []
    depth = [0]  # locmem's get_many calls get() per key: count round trips, not those
    alias = switchyard_cache.cache()
    originals = {name: getattr(alias, name) for name in ("get", "get_many")}

    def counting(name: str):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            if not depth[0]:
                calls.append(name)
            depth[0] += 1
            try:
                return originals[name](*args, **kwargs)
            finally:
                depth[0] -= 1

        return call

    for name in originals:
        setattr(alias, name, counting(name))
    try:
        with CaptureQueriesContext(connection) as queries:
            gateway = request.strategy.payments  # type: ignore[attr-defined]
            again = request.strategy["payments"]  # type: ignore[attr-defined]
            offered = request.strategy.available("payments")  # type: ignore[attr-defined]
    finally:
        for name in originals:
            delattr(alias, name)
    resolution = request.strategy.resolution("payments")  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "slug": gateway.slug,
            "same": gateway is again,
            "reason": resolution.reason.value,
            "available": [strategy.slug for strategy in offered],
            "queries": [query["sql"] for query in queries.captured_queries],
            "cache_calls": calls,
            "charge": gateway.charge(1250),
        }
    )


def untouched(request: HttpRequest) -> JsonResponse:
    """Never reads request.strategy."""
    return JsonResponse({"type": type(request.strategy).__name__})  # type: ignore[attr-defined]


urlpatterns = [
    path("resolve/", resolve_payments),
    path("untouched/", untouched),
]
