"""Test wiring: which fixtures a run gets depends on its settings module.

The main run (tests/settings.py, django-tenants) loads the tenant fixtures from
tests/tenant_fixtures.py and leaves tests/plain alone. tests/plain is a second run, with
``--ds=tests.settings_plain`` (no django-tenants, no tenants app; see the Makefile), and has its
own conftest. Put tenant fixtures in tests/tenant_fixtures.py, not here: this module is loaded
by both runs and must import nothing that needs django-tenants.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

TESTS = Path(__file__).resolve().parent
PLAIN = TESTS / "plain"
TENANT_RUN = "django_tenants" in settings.INSTALLED_APPS

if TENANT_RUN:
    pytest_plugins = ["tests.tenant_fixtures"]
    collect_ignore = ["plain"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the plain run, collect tests/plain only: everything else needs django-tenants."""
    if TENANT_RUN or collection_path == TESTS or collection_path.is_relative_to(PLAIN):
        return None
    return collection_path.is_relative_to(TESTS) or None
