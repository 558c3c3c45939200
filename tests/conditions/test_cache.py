"""conditions.cache: a failing cache is a miss, never an error, and is left alone for a while.

The failing cache is real: a Redis client pointed at a port nothing listens on.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from conditions import cache

DEAD = {
    **settings.CACHES,
    "switchyard": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    },
}


@pytest.fixture
def dead_cache() -> Iterator[None]:
    cache.reset()
    with override_settings(CACHES=DEAD, SWITCHYARD={"CACHE": "switchyard", "CACHE_RETRY_AFTER": 1}):
        yield
    cache.reset()


def test_every_call_answers_on_a_working_cache() -> None:
    assert cache.set("switchyard:test:a", 1, timeout=10)
    assert cache.add("switchyard:test:b", 2, timeout=10)
    assert not cache.add("switchyard:test:b", 3, timeout=10)
    assert cache.get_many(["switchyard:test:a", "switchyard:test:b"]) == {
        "switchyard:test:a": 1,
        "switchyard:test:b": 2,
    }
    assert cache.delete_many(["switchyard:test:a"])
    assert cache.get("switchyard:test:a", "gone") == "gone"
    assert cache.healthy()


def test_a_dead_cache_is_a_miss_and_writes_say_they_failed(
    dead_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    assert cache.get_many(["k"]) == {}
    assert cache.get("k", "default") == "default"
    assert cache.set("k", 1, timeout=10) is False
    assert cache.add("k", 1, timeout=10) is False
    assert cache.delete_many(["k"]) is False
    assert not cache.healthy()
    warnings = [r for r in caplog.records if r.name == "switchyard.cache"]
    assert len(warnings) == 1  # logged once per interval, not once per call
    assert warnings[0].levelname == "WARNING"
    assert "failed to read" in warnings[0].getMessage()


@pytest.fixture
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A TCP server on loopback that accepts connections and never answers (a hung cache)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                accepted.append(server.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], accepted
    server.close()
    for connection in accepted:
        connection.close()


def test_after_an_error_the_cache_is_left_alone_then_tried_again(
    silent_server: tuple[int, list[socket.socket]],
) -> None:
    port, accepted = silent_server
    hung = {
        **DEAD,
        "switchyard": {**DEAD["switchyard"], "LOCATION": f"redis://127.0.0.1:{port}/0"},
    }
    cache.reset()
    with override_settings(CACHES=hung, SWITCHYARD={"CACHE": "switchyard", "CACHE_RETRY_AFTER": 1}):
        assert cache.get_many(["k"]) == {}  # times out once (socket_timeout)
        tried = len(accepted)
        assert tried >= 1
        for _ in range(50):
            assert cache.get_many(["k"]) == {}
            cache.set("k", 1, timeout=10)
        assert len(accepted) == tried  # left alone: not one more connection attempt
        time.sleep(1.1)
        assert cache.healthy()  # tried again after the period
    cache.reset()


def test_a_recovered_cache_is_used_again_after_the_period() -> None:
    cache.reset()
    with override_settings(CACHES=DEAD, SWITCHYARD={"CACHE": "switchyard", "CACHE_RETRY_AFTER": 0}):
        assert cache.set("k", 1, timeout=10) is False
    assert cache.set("switchyard:test:back", 1, timeout=10)
    assert cache.get("switchyard:test:back") == 1


def test_prepare_builds_the_client_without_connecting(dead_cache: None) -> None:
    # A dead server: building the client opens no connection, so nothing fails and no
    # request is delayed by a timeout at start-up.
    from django.core.cache import caches

    cache.prepare()
    assert "_cache" in vars(caches["switchyard"])  # the client, built
    assert cache.healthy()


def test_prepare_logs_a_backend_that_cannot_be_built(caplog: pytest.LogCaptureFixture) -> None:
    broken = {**settings.CACHES, "switchyard": {"BACKEND": "no.such.Backend"}}
    cache.reset()
    try:
        with override_settings(CACHES=broken, SWITCHYARD={"CACHE": "switchyard"}):
            cache.prepare()  # never raises: the requests will read the database
            assert not cache.healthy()
    finally:
        cache.reset()
    assert any("failed to start" in r.getMessage() for r in caplog.records)


def test_prepare_builds_a_django_redis_client_too() -> None:
    from django.core.cache import caches

    dead = {
        **settings.CACHES,
        "switchyard": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        },
    }
    cache.reset()
    try:
        with override_settings(CACHES=dead, SWITCHYARD={"CACHE": "switchyard"}):
            cache.prepare()
            assert vars(caches["switchyard"])["_client"] is not None  # built, not connected
            assert cache.healthy()
            assert cache.get_many(["k"]) == {}  # the dead server: a miss, then the back-off
            assert not cache.healthy()
    finally:
        cache.reset()
