"""System checks: each one fires on its misconfiguration, names it, and hints at the fix."""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from engine import Registry, Strategy
from engine.checks import check_caches, check_middleware, check_registries, check_settings
from engine.middleware import StrategyMiddleware

pytestmark = pytest.mark.usefixtures("switchyard_isolated_registries")

TENANT = "django_tenants.middleware.main.TenantMainMiddleware"
CACHED_TENANT = "tenants.middleware.CachedTenantMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
OURS = "engine.middleware.StrategyMiddleware"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
REDIS = "django.core.cache.backends.redis.RedisCache"
DJANGO_REDIS = "django_redis.cache.RedisCache"
MAKE_KEY = "django_tenants.cache.make_key"
# The engine's check ids (the tenants app has its own, switchyard.E1xx).
ENGINE_ID = re.compile(r"switchyard\.[EW]0\d\d$")


def ids(messages: list[object]) -> list[str]:
    return [message.id for message in messages]  # type: ignore[attr-defined]


def test_the_project_settings_pass_except_the_local_memory_cache() -> None:
    engine_ids = [m.id for m in run_checks(tags=["switchyard"]) if ENGINE_ID.match(m.id)]
    # The test settings use local-memory caches (one process); nothing else is wrong.
    assert engine_ids == ["switchyard.W003"]


@pytest.mark.parametrize(
    ("middleware", "expected"),
    [
        ([TENANT, SESSION, AUTH, OURS], []),
        ([CACHED_TENANT, SESSION, AUTH, OURS], []),
        ([SESSION, AUTH, OURS], []),  # no django-tenants middleware: nothing to order against
        ([OURS, TENANT, SESSION, AUTH], ["switchyard.E001", "switchyard.E002"]),
        ([TENANT, SESSION, OURS, AUTH], ["switchyard.E002"]),
        ([TENANT, SESSION, AUTH], ["switchyard.W001"]),
    ],
)
def test_middleware_order(middleware: list[str], expected: list[str]) -> None:
    with override_settings(MIDDLEWARE=middleware):
        assert ids(check_middleware()) == expected


def test_middleware_order_message_names_both_and_the_setting() -> None:
    with override_settings(MIDDLEWARE=[TENANT, SESSION, OURS, AUTH]):
        (error,) = check_middleware()
    assert f"{OURS} comes before {AUTH} in settings.MIDDLEWARE" in error.msg
    assert error.hint == f"Move {OURS!r} after {AUTH!r} in settings.MIDDLEWARE."


def test_a_subclass_of_the_strategy_middleware_counts() -> None:
    with override_settings(MIDDLEWARE=[TENANT, SESSION, "tests.engine.test_checks.Mine", AUTH]):
        assert ids(check_middleware()) == ["switchyard.E002"]


class Mine(StrategyMiddleware):
    """A project's own subclass."""


def caches(default: dict[str, str], switchyard: dict[str, str]) -> dict[str, dict[str, str]]:
    return {"default": default, "switchyard": switchyard}


def test_default_cache_without_tenant_keys_warns() -> None:
    with override_settings(CACHES=caches({"BACKEND": REDIS}, {"BACKEND": REDIS})):
        (warning,) = check_caches()
    assert warning.id == "switchyard.W002"
    assert MAKE_KEY in warning.hint


def test_a_key_function_marked_tenant_aware_is_accepted() -> None:
    default = {"BACKEND": REDIS, "KEY_FUNCTION": "tests.engine.test_checks.tenant_key"}
    with override_settings(CACHES=caches(default, {"BACKEND": REDIS})):
        assert check_caches() == []


def tenant_key(key: str, key_prefix: str, version: int) -> str:
    return f"schema:{key_prefix}:{version}:{key}"


tenant_key.switchyard_tenant_aware = True  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "backend",
    [
        LOCMEM,
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    ],
)
def test_process_local_switchyard_cache_warns(backend: str) -> None:
    default = {"BACKEND": REDIS, "KEY_FUNCTION": MAKE_KEY}
    with override_settings(CACHES=caches(default, {"BACKEND": backend})):
        (warning,) = check_caches()
    assert warning.id == "switchyard.W003"
    assert "SWITCHYARD['CACHE']" in warning.hint


def test_a_switchyard_cache_that_swallows_its_errors_warns() -> None:
    default = {"BACKEND": REDIS, "KEY_FUNCTION": MAKE_KEY}
    swallowing = {"BACKEND": DJANGO_REDIS, "OPTIONS": {"IGNORE_EXCEPTIONS": True}}
    with override_settings(CACHES=caches(default, swallowing)):
        (warning,) = check_caches()
    assert warning.id == "switchyard.W007"
    assert "CACHE_RETRY_AFTER" in warning.hint
    with override_settings(CACHES=caches(default, {"BACKEND": DJANGO_REDIS})):
        assert check_caches() == []


def test_schema_prefixed_switchyard_cache_warns() -> None:
    tenant_keys = {"BACKEND": REDIS, "KEY_FUNCTION": MAKE_KEY}
    with override_settings(CACHES=caches(tenant_keys, tenant_keys)):
        (warning,) = check_caches()
    assert warning.id == "switchyard.W004"


def test_switchyard_cache_alias_must_exist() -> None:
    default = {"BACKEND": REDIS, "KEY_FUNCTION": MAKE_KEY}
    with override_settings(
        CACHES={"default": default, "switchyard": default}, SWITCHYARD={"CACHE": "switchyrd"}
    ):
        (error,) = check_caches()
    assert error.id == "switchyard.E007"
    assert "Did you mean 'switchyard'?" in error.msg


def test_default_naming_an_unknown_slug_is_an_error_with_a_suggestion() -> None:
    class Shipping(Registry):
        key = "shipping_checked"
        default = "bota"

    class Boat(Strategy):
        registry = Shipping
        slug = "boat"

    errors = [m for m in check_registries() if m.obj is Shipping]
    assert ids(errors) == ["switchyard.E004"]
    assert "Did you mean 'boat'?" in errors[0].msg
    assert "Shipping.default" in errors[0].hint


def test_a_registry_without_strategies_warns() -> None:
    class Empty(Registry):
        key = "empty_checked"

    warnings = [m for m in check_registries() if m.obj is Empty]
    assert ids(warnings) == ["switchyard.W006"]


@pytest.fixture
def two_modules(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "freight_registry.py").write_text(
        "from engine import Registry, Strategy\n"
        "class Freight(Registry):\n    key = 'freight_twice'\n"
        "class FreightMode(Strategy):\n    registry = Freight\n"
    )
    (tmp_path / "freight_plugin.py").write_text(
        "from freight_registry import FreightMode\nclass Rail(FreightMode):\n    slug = 'rail'\n"
    )
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in ("freight_registry", "freight_plugin"):
        sys.modules.pop(name, None)


def test_a_registry_key_held_by_two_live_classes_is_an_error(two_modules: Path) -> None:
    registry_module = importlib.import_module("freight_registry")
    importlib.import_module("freight_plugin")  # Rail registers on the first Freight
    assert check_registries() == []
    importlib.reload(registry_module)  # a second Freight takes the key; Rail stays on the old
    (error,) = [m for m in check_registries() if m.id == "switchyard.E003"]
    assert "Registry key 'freight_twice' is held by two classes" in error.msg
    assert "still has the strategies rail" in error.msg


def test_unknown_switchyard_keys_are_errors_with_a_suggestion() -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "CACHE_TIMOUT": 5}):
        (error,) = check_settings()
    assert error.id == "switchyard.E005"
    assert "Unknown key 'CACHE_TIMOUT'" in error.msg
    assert "Did you mean 'CACHE_TIMEOUT'?" in error.msg


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STRATEGIES_MODULE", ""),
        ("ENTRY_POINTS_ALLOW", "one"),
        ("ENTRY_POINTS_DENY", None),
        ("CACHE_TIMEOUT", -1),
        ("CACHE_TIMEOUT", "60"),
        ("STRICT_CONDITIONS", "yes"),
    ],
)
def test_malformed_setting_values_are_errors(name: str, value: object) -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", name: value}):
        (error,) = check_settings()
    assert error.id == "switchyard.E006"
    assert f"SWITCHYARD[{name!r}] is {value!r}; expected" in error.msg


def test_settings_that_are_not_a_dict_are_an_error() -> None:
    with override_settings(SWITCHYARD=["CACHE"]):
        assert ids(check_settings()) == ["switchyard.E006"]


def test_entry_point_names_that_are_not_installed_warn() -> None:
    with override_settings(SWITCHYARD={"CACHE": "switchyard", "ENTRY_POINTS_DENY": ["nothing"]}):
        (warning,) = check_settings()
    assert warning.id == "switchyard.W005"
    assert "'nothing', which is no installed entry point" in warning.msg
