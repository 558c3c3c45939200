"""switchyard.E104: the tenants app needs django-tenants' database backend."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.test import override_settings

E104 = "switchyard.E104"
# Overriding DATABASES only changes what the check reads: the open connection stays as it is.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


def e104(engine: str) -> list[str]:
    databases = {"default": {**settings.DATABASES["default"], "ENGINE": engine}}
    with override_settings(DATABASES=databases):
        return [f"{m.msg}\nhint: {m.hint}" for m in run_checks() if m.id == E104]


def test_the_example_site_runs_on_django_tenants_backend() -> None:
    assert [m for m in run_checks() if m.id == E104] == []


def test_django_s_own_postgresql_backend_is_an_error_naming_the_setting() -> None:
    [message] = e104("django.db.backends.postgresql")
    assert message.startswith(
        'DATABASES["default"]["ENGINE"] is \'django.db.backends.postgresql\', but the '
        "tenants app needs django-tenants' backend"
    )
    assert "'DatabaseWrapper' object has no attribute 'set_schema'" in message
    assert 'hint: Set DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"' in (
        message
    )


def test_another_backend_is_an_error() -> None:
    assert len(e104("django.db.backends.sqlite3")) == 1


def test_a_backend_subclassing_django_tenants_one_passes() -> None:
    assert e104("tests.tenants.tenant_backend") == []


def test_a_backend_that_cannot_be_loaded_is_left_to_django() -> None:
    # Django's own error names it as soon as anything touches the database.
    assert e104("no.such.backend") == []
