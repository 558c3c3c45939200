"""The selections API's URLs: ``path("api/switchyard/", include("engine.rest_framework.urls"))``.

Routes (namespace ``switchyard_api``): ``registries/`` (``registry-list``),
``registries/<key>/`` (``registry-detail``), ``registries/<key>/selection/``
(``registry-selection``) and ``registries/<key>/my-selection/`` (``registry-my-selection``),
plus DRF's API root at the prefix itself.
"""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

from engine.rest_framework.views import APIRootView, RegistryViewSet

app_name = "switchyard_api"


class Router(DefaultRouter):
    """DRF's ``DefaultRouter``, whose API root refuses malformed input like the API."""

    APIRootView = APIRootView


router = Router()
router.register("registries", RegistryViewSet, basename="registry")

urlpatterns = router.urls
