from __future__ import annotations

from django.apps import AppConfig


class SurfacesAppConfig(AppConfig):
    name = "tests.engine.surfaces_app"
    label = "surfaces_app"
    default_auto_field = "django.db.models.BigAutoField"
