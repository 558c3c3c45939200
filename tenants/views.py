"""The platform page: every tenant's strategies in force, for staff of the public site."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from engine.platform.listing import strategy_states
from engine.registry import registries
from tenants.middleware import on_public_site
from tenants.reports import platform_flags, strategies_in_force, tenants_queryset

# How many tenants the platform page shows at a time.
TENANTS_PER_PAGE = 100


@staff_member_required
def platform_overview(request: HttpRequest) -> HttpResponse:
    """Per tenant, the strategy in force for each registry and whether the tenant chose it,
    the platform flags with their state per tenant, and each strategy's platform status.

    ``?format=json`` returns the same as JSON; ``?page=N`` pages through the tenants,
    ``TENANTS_PER_PAGE`` at a time, so a page costs the same at 10 tenants or 10,000 (their
    selections are read together: one cache round trip, one query for what it lacks).
    Served on the public site only.
    """
    if not on_public_site(request):
        raise Http404("The platform overview is on the platform's own site.")
    page = Paginator(tenants_queryset(), TENANTS_PER_PAGE).get_page(request.GET.get("page"))
    tenants = list(page.object_list)
    report = strategies_in_force(tenants)
    flags = platform_flags(tenants)
    states = strategy_states()
    if request.GET.get("format") == "json":
        return JsonResponse(
            {
                "tenants": [tenant.as_dict() for tenant in report],
                "flags": [flag.as_dict() for flag in flags],
                "strategies": [state.as_dict() for state in states],
                "page": page.number,
                "pages": page.paginator.num_pages,
            }
        )
    keys = sorted(registries())
    context = {
        "report": report,
        "registry_keys": keys,
        "flags": flags,
        "page": page,
        "states": states,
    }
    return render(request, "tenants/platform.html", context)
