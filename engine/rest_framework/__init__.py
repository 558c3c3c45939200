"""Django REST framework integration: a context-aware ``StrategyField`` and a selections API.

Needs ``djangorestframework`` (``pip install django-switchyard[drf]``); include the API with
``path("api/switchyard/", include("engine.rest_framework.urls"))``.
"""

from __future__ import annotations

try:
    import rest_framework  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised only without DRF installed
    raise ImportError(
        "engine.rest_framework needs Django REST framework: "
        "pip install 'django-switchyard[drf]' (or djangorestframework)."
    ) from error

from engine.rest_framework.context import request_context
from engine.rest_framework.fields import MultipleStrategyField, StrategyField
from engine.rest_framework.permissions import CanChangeSelections
from engine.rest_framework.serializers import (
    RegistrySerializer,
    SelectionSerializer,
    StrategyModelSerializer,
    StrategyModelSerializerMixin,
)

__all__ = [
    "CanChangeSelections",
    "MultipleStrategyField",
    "RegistrySerializer",
    "SelectionSerializer",
    "StrategyField",
    "StrategyModelSerializer",
    "StrategyModelSerializerMixin",
    "request_context",
]
