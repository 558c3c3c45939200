from __future__ import annotations

from django.apps import AppConfig


class ProjectTenantsConfig(AppConfig):
    """The project's own app labelled ``tenants``: it must not clash with Switchyard's."""

    name = "tests.owntenant.tenants"
    label = "tenants"
    default_auto_field = "django.db.models.BigAutoField"
