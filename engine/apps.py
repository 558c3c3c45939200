"""The engine's Django app: discovers strategies and registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig


class EngineConfig(AppConfig):
    """Registries, strategies, selections: discovery and checks happen in ``ready()``."""

    name = "engine"
    verbose_name = "Switchyard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from engine import checks, checks_sets  # noqa: F401 - registers the system checks
        from engine.discovery import autodiscover

        autodiscover()
