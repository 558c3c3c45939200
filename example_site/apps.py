from __future__ import annotations

from django.apps import AppConfig


class ExampleSiteConfig(AppConfig):
    """The demo SaaS: its pages, seed command and templates."""

    name = "example_site"
    default_auto_field = "django.db.models.BigAutoField"
