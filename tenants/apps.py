from __future__ import annotations

from django.apps import AppConfig


class TenantsConfig(AppConfig):
    """Tenants, their plans and domains (django-tenants)."""

    name = "tenants"
    default_auto_field = "django.db.models.BigAutoField"
