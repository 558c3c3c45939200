"""The platform page: every tenant's strategies in force, for staff of the public site."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from engine.registry import registries
from tenants.middleware import on_public_site
from tenants.reports import all_tenants, platform_flags, strategies_in_force


@staff_member_required
def platform_overview(request: HttpRequest) -> HttpResponse:
    """Per tenant, the strategy in force for each registry and whether the tenant chose it,
    and the platform flags with their state per tenant.

    ``?format=json`` returns the same as JSON. Served on the public site only.
    """
    if not on_public_site(request):
        raise Http404("The platform overview is on the platform's own site.")
    tenants = all_tenants()
    report = strategies_in_force(tenants)
    flags = platform_flags(tenants)
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "tenants": [tenant.as_dict() for tenant in report],
                "flags": [flag.as_dict() for flag in flags],
            }
        )
    keys = sorted(registries())
    context = {"report": report, "registry_keys": keys, "flags": flags}
    return render(request, "tenants/platform.html", context)
