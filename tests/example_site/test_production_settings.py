"""The example site's settings from the environment: what the production recipe relies on."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured

import example_site.settings
from example_site.database import conn_max_age, database_settings

URL = "postgres://app@db.internal:5432/switchyard"


@pytest.fixture(autouse=True)
def _restore_site_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()
    importlib.reload(example_site.settings)  # back to the run's own environment


def site_settings(monkeypatch: pytest.MonkeyPatch, **environ: str) -> ModuleType:
    """Return example_site.settings as evaluated with ``environ`` added to the environment."""
    for name in ("REDIS_URL", "ALLOWED_HOSTS", "REDIS_TIMEOUT", "SWITCHYARD_SECRET_KEYS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return importlib.reload(example_site.settings)


def test_a_database_url_keeps_connections_for_a_minute_and_checks_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", URL)
    monkeypatch.delenv("CONN_MAX_AGE", raising=False)
    settings = database_settings()
    assert (settings["CONN_MAX_AGE"], settings["CONN_HEALTH_CHECKS"]) == (60, True)
    monkeypatch.setenv("CONN_MAX_AGE", "0")  # ASGI: Django's advice is no persistence
    assert database_settings()["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(
    ("value", "expected"), [("", 7), (" 300 ", 300), ("0", 0), ("None", None), ("none", None)]
)
def test_conn_max_age_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: int | None
) -> None:
    monkeypatch.setenv("CONN_MAX_AGE", value)
    assert conn_max_age(7) == expected


@pytest.mark.parametrize("value", ["-1", "sixty", "1.5", "x" * 40])
def test_a_bad_conn_max_age_says_what_was_expected(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CONN_MAX_AGE", value)
    with pytest.raises(ImproperlyConfigured) as raised:
        conn_max_age(60)
    message = str(raised.value)
    assert "CONN_MAX_AGE must be a number of seconds (0 or more) or 'None'" in message
    assert repr(value[:20]) in message  # at most a short prefix of what was given
    assert len(message) < 120


def test_allowed_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ".localhost" in site_settings(monkeypatch).ALLOWED_HOSTS  # make demo's default
    site = site_settings(monkeypatch, ALLOWED_HOSTS=".example.com, example.com,")
    assert site.ALLOWED_HOSTS == [".example.com", "example.com"]


def test_secret_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    demo = site_settings(monkeypatch).SWITCHYARD["SECRET_KEYS"]
    assert len(demo) == 1  # make demo's published key
    site = site_settings(monkeypatch, SWITCHYARD_SECRET_KEYS=" new-key , old-key ,")
    assert site.SWITCHYARD["SECRET_KEYS"] == ["new-key", "old-key"]


def test_redis_gets_short_socket_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    site = site_settings(monkeypatch, REDIS_URL="redis://cache.internal:6379/0")
    for alias in ("default", "switchyard"):
        config = site.CACHES[alias]
        assert config["BACKEND"] == "django_redis.cache.RedisCache"
        assert config["OPTIONS"] == {"SOCKET_TIMEOUT": 0.5, "SOCKET_CONNECT_TIMEOUT": 0.5}
    site = site_settings(monkeypatch, REDIS_URL="redis://cache.internal:6379/0", REDIS_TIMEOUT="2")
    assert site.CACHES["switchyard"]["OPTIONS"]["SOCKET_TIMEOUT"] == 2.0


def test_local_memory_caches_hold_thousands_of_tenants(monkeypatch: pytest.MonkeyPatch) -> None:
    site = site_settings(monkeypatch)
    config = site.CACHES["switchyard"]
    assert config["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    cache = LocMemCache("capacity-test", {"OPTIONS": config["OPTIONS"]})
    tenants = 5000
    try:
        for number in range(tenants):  # routing, selections and one user's, per tenant
            for kind in ("route", "selections", "user"):
                cache.set(f"{kind}:{number}", number)
        assert all(cache.get(f"route:{number}") == number for number in range(tenants))
        assert all(cache.get(f"selections:{number}") == number for number in range(tenants))
    finally:
        cache.clear()
