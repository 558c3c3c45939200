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
        from engine.storage.cache import package_version

        autodiscover()
        # Every cache key carries it; reading the installed metadata costs about a millisecond,
        # paid here at start-up rather than by the first request.
        package_version()
