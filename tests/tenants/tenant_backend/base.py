"""The backend's ``DatabaseWrapper``: django-tenants', subclassed."""

from __future__ import annotations

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


class DatabaseWrapper(TenantDatabaseWrapper):  # type: ignore[misc]
    """django-tenants' wrapper, unchanged: what matters is that it is a subclass."""
