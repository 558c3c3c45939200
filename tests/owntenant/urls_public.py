"""The platform's own site: the admin and the platform page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tenants.views import platform_overview

urlpatterns = [
    path("admin/", admin.site.urls),
    path("platform/", platform_overview, name="platform"),
]
