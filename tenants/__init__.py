"""Tenancy on django-tenants: tenants with plans, plan conditions, platform flags, provisioning.

Models and the functions that need them live in their modules (``tenants.models``,
``tenants.provisioning``, ``tenants.reports``): this package is imported while Django loads
its apps, before models may be.
"""

from tenants.conditions import Plan, PlanAtLeast, TenantIs
from tenants.plans import UnknownPlan

__all__ = ["Plan", "PlanAtLeast", "TenantIs", "UnknownPlan"]
