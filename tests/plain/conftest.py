"""Fixtures of the plain-Django run: one schema, no django-tenants (tests/settings_plain.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import caches

from conditions import snapshot

if "django_tenants" in settings.INSTALLED_APPS:
    raise pytest.UsageError(
        "tests/plain runs without django-tenants: "
        "pytest tests/plain --ds=tests.settings_plain (make test runs it)"
    )


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    # Caches and the flag snapshot are not rolled back with the database.
    for cache in caches.all():
        cache.clear()
    snapshot.forget()
    yield
    for cache in caches.all():
        cache.clear()
    snapshot.forget()
