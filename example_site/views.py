from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.models import Tenant


def home(request: HttpRequest) -> HttpResponse:
    """A tenant's home page: who the tenant is and what it pays for."""
    tenant = request.tenant  # type: ignore[attr-defined]
    # The payment strategy in force, why, and why each other one is or is not offered.
    payments = request.strategy.explain("payments")  # type: ignore[attr-defined]
    return render(request, "example_site/home.html", {"tenant": tenant, "payments": payments})


def platform_home(request: HttpRequest) -> HttpResponse:
    """The platform's home page: every tenant with its plan and address."""
    tenants = Tenant.objects.exclude(schema_name="public").prefetch_related("domains")
    return render(request, "example_site/platform_home.html", {"tenants": tenants})
