"""The conditions tests' flag models app."""

from __future__ import annotations

from django.apps import AppConfig


class FlagsAppConfig(AppConfig):
    """Stock and custom waffle flag models to point ``WAFFLE_FLAG_MODEL`` at in tests."""

    name = "tests.conditions.flags_app"
    label = "conditions_flags"
    default_auto_field = "django.db.models.BigAutoField"
