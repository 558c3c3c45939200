"""The engine's Django app: discovers strategies and registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig


class EngineConfig(AppConfig):
    """Registries, strategies, selections: discovery and checks happen in ``ready()``."""

    name = "engine"
    verbose_name = "Switchyard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from conditions import cache
        from engine import checks, checks_sets  # noqa: F401 - registers the system checks
        from engine.discovery import autodiscover
        from engine.platform import load
        from engine.platform.sync import sync_after_migrate
        from engine.storage.cache import package_version

        autodiscover()
        load.register()  # the platform state is read with the flag snapshot
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="switchyard_sync")
        # Every cache key carries it; reading the installed metadata costs about a millisecond,
        # paid here at start-up rather than by the first request.
        package_version()
        cache.prepare()  # the cache client and its library, here rather than in a request
