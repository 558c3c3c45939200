from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_save

import tenants.conf  # noqa: F401  (registers the PLANS, TENANT_* and TEMPLATE_SCHEMA keys)


class TenantsConfig(AppConfig):
    """Tenants, their plans and domains (django-tenants), platform flags and provisioning."""

    name = "tenants"
    # Not "tenants": a project's own tenants app (where its tenant model often lives) keeps it.
    label = "switchyard_tenants"
    verbose_name = "Switchyard tenants"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_tenants.utils import get_tenant_domain_model, get_tenant_model

        from tenants import (  # noqa: F401  (checks register themselves)
            cache,
            checks,
            checks_pooling,
            conditions,
            flags,
        )
        from tenants.models import PlatformFlag

        # The project's models (TENANT_MODEL, TENANT_DOMAIN_MODEL): ours or its own.
        tenant, domain = get_tenant_model(), get_tenant_domain_model()
        uid = "switchyard.tenants"
        post_save.connect(cache.tenant_saved, sender=tenant, dispatch_uid=f"{uid}.tenant_saved")
        post_delete.connect(cache.tenant_saved, sender=tenant, dispatch_uid=f"{uid}.tenant_gone")
        pre_save.connect(cache.domain_will_save, sender=domain, dispatch_uid=f"{uid}.domain_pre")
        post_save.connect(cache.domain_saved, sender=domain, dispatch_uid=f"{uid}.domain_saved")
        post_delete.connect(cache.domain_saved, sender=domain, dispatch_uid=f"{uid}.domain_gone")
        post_delete.connect(flags.flag_deleted, sender=PlatformFlag, dispatch_uid=f"{uid}.flag")
        post_delete.connect(flags.tenant_deleted, sender=tenant, dispatch_uid=f"{uid}.flag_tenant")
