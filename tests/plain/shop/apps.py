from __future__ import annotations

from django.apps import AppConfig


class ShopConfig(AppConfig):
    """The plain-Django test project's only app of its own."""

    name = "tests.plain.shop"
    label = "shop"
    default_auto_field = "django.db.models.BigAutoField"
