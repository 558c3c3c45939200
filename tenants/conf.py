"""The tenants app's keys in ``SWITCHYARD = {...}``, registered with the engine's settings.

Imported by ``tenants.apps`` so the keys are known before anything reads the settings.
"""

from __future__ import annotations

from engine.conf import register_defaults

register_defaults(
    # The plans tenants can be on, smallest first: ``PlanAtLeast("pro")`` means "pro or a
    # plan listed after it".
    PLANS=["free", "pro", "enterprise"],
    # Where a tenant's plan is read: the name of an attribute of the tenant model (a field or
    # a property), or the dotted path of a function ``(tenant) -> plan name``. Either must
    # give one of PLANS (None: no plan; plan conditions are then not met).
    TENANT_PLAN="plan",
    # Seconds a host -> tenant entry of ``CachedTenantMiddleware`` lives; saving or deleting a
    # tenant or domain invalidates it at once anyway.
    TENANT_CACHE_TIMEOUT=60 * 60 * 24,
    # Seconds an unknown host is remembered as unknown, so a flood of bad hosts costs one
    # query per host and period, not one per request.
    TENANT_MISS_TIMEOUT=30,
    # The schema provisioning clones new tenants from (rebuilt when migrations change).
    TEMPLATE_SCHEMA="_switchyard_template",
    # Clones of the template kept ready (manage.py switchyard_template makes them), so that
    # provisioning renames one instead of cloning; 0 turns them off.
    SPARE_SCHEMAS=2,
)
