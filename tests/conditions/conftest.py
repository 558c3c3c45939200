"""Fixtures of the conditions tests: stock waffle flag models, users, requests, caches."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.test import RequestFactory
from django.test.utils import override_settings
from pytest_django.fixtures import Settings as SettingsWrapper

from conditions import cache, snapshot
from tests import helpers
from tests.conditions.flags_app.models import ContextFlag, UserFlag

# Nothing listens there: every call fails at once (connection refused), as in an outage.
DEAD_REDIS = "redis://127.0.0.1:1/0"
# A real Redis for the tests that restore an old stamp: its own database and key prefix, and
# only the keys the test wrote are deleted (other people's keys may share the database).
LIVE_REDIS = os.environ.get("SWITCHYARD_TEST_FLAGS_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture(autouse=True)
def _fresh_snapshot() -> Iterator[None]:
    # The snapshot and the cache's back-off are process memory: a test must not see the
    # flags, or the cache failures, of the one before.
    snapshot.forget()
    cache.reset()
    yield
    snapshot.forget()
    cache.reset()


@contextlib.contextmanager
def switchyard_cache(
    location: str = DEAD_REDIS, *, bound: float = 10, key_prefix: str = "", **overrides: Any
) -> Iterator[None]:
    """Point Switchyard's cache alias (``switchyard``) at a Redis, a dead one by default.

    ``bound`` is ``SWITCHYARD["STALENESS_BOUND"]``; ``overrides`` are more Django settings.
    """
    caches = {
        **django_settings.CACHES,
        "switchyard": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": key_prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        },
    }
    switchyard = {**django_settings.SWITCHYARD, "CACHE": "switchyard", "STALENESS_BOUND": bound}
    with override_settings(CACHES=caches, SWITCHYARD=switchyard, **overrides):
        cache.reset()
        try:
            yield
        finally:
            cache.reset()


@pytest.fixture
def live_redis() -> str:
    """The URL of a reachable Redis, or a skip (a failure under CI=true) when there is none."""
    try:
        import redis

        redis.Redis.from_url(LIVE_REDIS, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as error:
        message = (
            f"Redis at {LIVE_REDIS} is not reachable ({type(error).__name__}: {error}); the "
            "stale-stamp tests need one (set SWITCHYARD_TEST_FLAGS_REDIS_URL)"
        )
        if os.environ.get("CI", "").lower() in {"true", "1", "yes"}:
            pytest.fail(f"{message}. CI=true: this is a failure, not a skip.", pytrace=False)
        pytest.skip(message)
    return LIVE_REDIS


@pytest.fixture
def live_switchyard_cache(live_redis: str) -> Iterator[Any]:
    """Switchyard's cache on a real Redis under a key prefix of this test's own."""
    import redis

    prefix = f"switchyard-test-{uuid.uuid4().hex}"
    try:
        with switchyard_cache(live_redis, bound=1, key_prefix=prefix):
            yield cache.cache()
    finally:
        client = redis.Redis.from_url(live_redis)
        for key in client.scan_iter(match=f"{prefix}:*"):  # this test's keys, nobody else's
            client.delete(key)


@pytest.fixture
def user_flags(db: None, settings: SettingsWrapper) -> type[UserFlag]:
    """Stock waffle flags (users, groups, percent, ...) as the flag model."""
    settings.WAFFLE_FLAG_MODEL = "conditions_flags.UserFlag"
    return UserFlag


@pytest.fixture
def context_flags(db: None, settings: SettingsWrapper) -> type[ContextFlag]:
    """A flag model with ``is_active_for_context`` as the flag model."""
    settings.WAFFLE_FLAG_MODEL = "conditions_flags.ContextFlag"
    return ContextFlag


def make_request(user: Any = None, path: str = "/", **query: str) -> HttpRequest:
    request = RequestFactory().get(path, query)
    request.user = user if user is not None else AnonymousUser()
    return request


@pytest.fixture
def make_user(db: None) -> Any:
    """``tests.helpers.make_user`` in the connection's schema."""
    return partial(helpers.make_user, None)
