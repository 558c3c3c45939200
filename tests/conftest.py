"""Test wiring: which fixtures a run gets depends on its settings module.

The main run (tests/settings.py, django-tenants) loads the tenant fixtures from
tests/tenant_fixtures.py and leaves tests/plain and tests/owntenant alone. tests/plain is a
second run, with ``--ds=tests.settings_plain`` (no django-tenants, no tenants app; see the
Makefile), tests/owntenant a third, with ``--ds=tests.settings_owntenant`` (the project's own
tenant model); each has its own conftest. Put tenant fixtures in tests/tenant_fixtures.py, not
here: this module is loaded by every run and must import nothing that needs django-tenants.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

TESTS = Path(__file__).resolve().parent
PLAIN = TESTS / "plain"
OWN_TENANT = TESTS / "owntenant"
OWN_TENANT_RUN = "tests.owntenant.customers" in settings.INSTALLED_APPS
TENANT_RUN = "django_tenants" in settings.INSTALLED_APPS and not OWN_TENANT_RUN
# The directory a separate run collects alone (None: the main run).
SEPARATE = None if TENANT_RUN else OWN_TENANT if OWN_TENANT_RUN else PLAIN

if TENANT_RUN:
    pytest_plugins = ["tests.tenant_fixtures"]
    collect_ignore = ["plain", "owntenant"]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In a separate run, collect its own directory only: the rest needs the main settings."""
    if SEPARATE is None or collection_path == TESTS or collection_path.is_relative_to(SEPARATE):
        return None
    return collection_path.is_relative_to(TESTS) or None
