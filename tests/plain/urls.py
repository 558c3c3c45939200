"""One view that reads ``request.strategy``: the plain project's request path."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path


def shipping(request: HttpRequest) -> JsonResponse:
    resolution = request.strategy.resolution("shipping")  # type: ignore[attr-defined]
    return JsonResponse({"slug": resolution.strategy_class.slug, "reason": str(resolution.reason)})


urlpatterns = [path("shipping/", shipping)]
