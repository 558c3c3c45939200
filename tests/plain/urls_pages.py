"""The bundled selection pages in a plain project (no django-tenants)."""

from django.urls import include, path

urlpatterns = [path("strategies/", include("engine.urls"))]
