"""A tenant URLconf of async views that read request.strategy (tests/engine/test_async.py)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from engine import NeedsAwait


async def resolve_payments(request: HttpRequest) -> JsonResponse:
    """The async API: the strategy in force, what is available, why."""
    strategies = request.strategy  # type: ignore[attr-defined]
    gateway = await strategies.aget("payments")
    offered = await strategies.aavailable("payments")
    explanation = await strategies.aexplain("payments")
    resolution = await strategies.aresolution("payments")
    again = strategies.payments  # once loaded, sync access works in the event loop (no I/O)
    return JsonResponse(
        {
            "slug": gateway.slug,
            "same": again is gateway,
            "reason": resolution.reason.value,
            "available": [strategy.slug for strategy in offered],
            "explained": [entry.slug for entry in explanation.strategies if entry.available],
        }
    )


async def sync_read(request: HttpRequest) -> JsonResponse:
    """Reads request.strategy.payments without awaiting: refused with a clear error."""
    try:
        slug = request.strategy.payments.slug  # type: ignore[attr-defined]
    except NeedsAwait as error:
        return JsonResponse({"error": type(error).__name__, "message": str(error)}, status=409)
    return JsonResponse({"slug": slug})


urlpatterns = [
    path("async/resolve/", resolve_payments),
    path("async/sync-read/", sync_read),
]
