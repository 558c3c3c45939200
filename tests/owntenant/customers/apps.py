from __future__ import annotations

from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """The team's own tenant and domain models, as an existing django-tenants project has."""

    name = "tests.owntenant.customers"
    label = "customers"
    default_auto_field = "django.db.models.BigAutoField"
