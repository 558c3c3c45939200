"""Tenancy on django-tenants: the ``Tenant`` and ``Domain`` models and tenant-aware tools."""
