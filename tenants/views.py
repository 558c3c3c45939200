"""The platform page: every tenant's strategies in force, for staff of the public site."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from engine.registry import registries
from tenants.middleware import on_public_site
from tenants.reports import strategies_in_force


@staff_member_required
def platform_overview(request: HttpRequest) -> HttpResponse:
    """Per tenant, the strategy in force for each registry and whether the tenant chose it.

    ``?format=json`` returns the same as JSON. Served on the public site only.
    """
    if not on_public_site(request):
        raise Http404("The platform overview is on the platform's own site.")
    report = strategies_in_force()
    if request.GET.get("format") == "json":
        return JsonResponse({"tenants": [tenant.as_dict() for tenant in report]})
    keys = sorted(registries())
    return render(request, "tenants/platform.html", {"report": report, "registry_keys": keys})
