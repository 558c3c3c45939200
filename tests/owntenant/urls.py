"""A tenant's site: one view reading ``request.tenant`` and ``request.strategy``."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tenants.tenant_model import plan_or_none


def support(request: HttpRequest) -> JsonResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    channel = request.strategy.support  # type: ignore[attr-defined]
    return JsonResponse(
        {"tenant": tenant.schema_name, "plan": plan_or_none(tenant), "support": channel.slug}
    )


urlpatterns = [path("support/", support)]
