"""Discovery: apps' strategies modules and entry points, with no database access, at start-up."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from engine import registries
from engine.discovery import QueryDuringDiscovery, allowed_entry_points, autodiscover
from example_site.strategies import PaymentGateways

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")

APP = "tests.engine.discovery_app"
MODULES = ("strategies", "other_strategies", "querying_strategies")


@pytest.fixture(autouse=True)
def forget_imported_modules() -> Iterator[None]:
    yield
    for name in [*(f"{APP}.{module}" for module in MODULES), *PLUGIN_MODULES]:
        sys.modules.pop(name, None)


@contextmanager
def with_app(**switchyard: object) -> Iterator[None]:
    """Install the discovery test app, with these Switchyard settings in force first."""
    with (
        override_settings(SWITCHYARD={"CACHE": "switchyard", **switchyard}),
        override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, APP]),
    ):
        yield


def test_the_example_sites_strategies_were_discovered_at_start_up() -> None:
    assert registries()["payments"] is PaymentGateways
    assert PaymentGateways.slugs() == ("card", "stripe", "invoice", "crypto")


def test_installing_an_app_discovers_its_strategies_module_from_ready() -> None:
    assert "discovered" not in registries()
    with with_app():  # re-populates the app registry: EngineConfig.ready() runs again
        assert registries()["discovered"].slugs() == ("found",)
    assert "other_discovered" not in registries()


def test_the_module_name_is_a_setting() -> None:
    with with_app(STRATEGIES_MODULE="other_strategies"):
        assert "other_discovered" in registries()
        assert "discovered" not in registries()


def test_a_query_during_discovery_is_refused_naming_the_module(db: None) -> None:
    with (
        with_app(),
        override_settings(SWITCHYARD={"STRATEGIES_MODULE": "querying_strategies"}),
        pytest.raises(QueryDuringDiscovery) as raised,
    ):
        autodiscover()
    message = str(raised.value)
    assert "Strategy discovery must not query the database" in message
    assert "'querying_strategies' modules of installed apps" in message
    assert 'FROM "auth_group"' in message


def test_migrate_schemas_works_with_discovery_in_place(db: None) -> None:
    call_command("migrate_schemas", verbosity=0, interactive=False)


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new, empty database on the test server; its URL."""
    config = connection.settings_dict
    name = f"sy_discovery_{os.getpid()}"
    server = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    # A socket directory (the embedded server) goes in the URL percent-encoded.
    host = quote(config["HOST"] or "127.0.0.1", safe="")
    port = f":{config['PORT']}" if config["PORT"] else ""
    yield f"postgres://{config['USER']}@{host}{port}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_fresh_process_migrates_an_empty_database(empty_database: str) -> None:
    # Start-up imports every strategies module (conditions, plans, flags) before any table
    # exists: nothing may touch the database until migrations have run.
    result = subprocess.run(
        [sys.executable, "example_site/manage.py", "migrate_schemas", "--noinput", "-v", "0"],
        env={**os.environ, "DATABASE_URL": empty_database},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr


# Entry points: a throwaway installed distribution, found on sys.path like any other.

PLUGIN_MODULES = (
    "sy_fake_shipping",
    "sy_fake_hook",
    "sy_fake_denied",
    "sy_fake_broken",
    "sy_fake_querying",
)
ENTRY_POINTS = """\
[switchyard.strategies]
fake_shipping = sy_fake_shipping
fake_hook = sy_fake_hook:register_all
fake_denied = sy_fake_denied
fake_broken = sy_fake_broken
fake_querying = sy_fake_querying

[console_scripts]
not_ours = sy_fake_shipping:main
"""
SOURCES = {
    "sy_fake_shipping": (
        "from engine import Registry, Strategy\n"
        "class Parcels(Registry):\n    key = 'parcels'\n"
        "class Courier(Strategy):\n    registry = Parcels\n    slug = 'courier'\n"
    ),
    "sy_fake_hook": (
        "CALLS = []\n"
        "def register_all():\n"
        "    from engine import Registry, Strategy\n"
        "    class Hooked(Registry):\n        key = 'hooked'\n"
        "    class Hook(Strategy):\n        registry = Hooked\n        slug = 'hook'\n"
        "    CALLS.append('called')\n"
    ),
    "sy_fake_denied": "raise AssertionError('a denied entry point must not be imported')\n",
    "sy_fake_broken": "import a_module_that_does_not_exist\n",
    "sy_fake_querying": (
        "from django.contrib.auth.models import Group\nGROUPS = list(Group.objects.all())\n"
    ),
}


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    info = tmp_path / "sy_fake_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sy-fake-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    for module, source in SOURCES.items():
        (tmp_path / f"{module}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    return tmp_path


def switchyard(**values: object) -> override_settings:
    return override_settings(SWITCHYARD={"CACHE": "switchyard", **values})


def test_allowed_entry_points_are_loaded_and_functions_called(plugin: Path) -> None:
    with switchyard(ENTRY_POINTS_ALLOW=["fake_shipping", "fake_hook"]):
        assert [point.name for point in allowed_entry_points()] == ["fake_hook", "fake_shipping"]
        assert autodiscover() == ["fake_hook", "fake_shipping"]
    assert registries()["parcels"].slugs() == ("courier",)
    assert registries()["hooked"].slugs() == ("hook",)
    assert sys.modules["sy_fake_hook"].CALLS == ["called"]
    assert "sy_fake_denied" not in sys.modules


def test_denied_entry_points_are_not_imported(plugin: Path) -> None:
    deny = ["fake_denied", "fake_broken", "fake_querying", "fake_hook"]
    with switchyard(ENTRY_POINTS_DENY=deny):
        assert autodiscover() == ["fake_shipping"]
    assert "sy_fake_denied" not in sys.modules
    assert "parcels" in registries() and "hooked" not in registries()


def test_a_broken_entry_point_is_a_clear_error(plugin: Path) -> None:
    with (
        switchyard(ENTRY_POINTS_ALLOW=["fake_broken"]),
        pytest.raises(ImproperlyConfigured) as raised,
    ):
        autodiscover()
    message = str(raised.value)
    assert "Entry point 'fake_broken' = 'sy_fake_broken'" in message
    assert "No module named 'a_module_that_does_not_exist'" in message
    assert "ENTRY_POINTS_DENY" in message


def test_an_entry_point_that_queries_is_refused(plugin: Path, db: None) -> None:
    with switchyard(ENTRY_POINTS_ALLOW=["fake_querying"]), pytest.raises(QueryDuringDiscovery):
        autodiscover()


def test_malformed_entry_point_settings_load_nothing(plugin: Path) -> None:
    # ready() must not raise for configuration: the system check switchyard.E006 reports it.
    with switchyard(ENTRY_POINTS_ALLOW="fake_shipping"):
        assert autodiscover() == []
