"""A private ``redis-server`` for tests: started on a free loopback port, stopped mid-test.

``RedisServer`` runs the Debian ``redis-server`` binary with a temporary directory of its own,
so a test can stop it (``stop()``), start it again (``start()``), snapshot it (``save()``
writes the RDB file) and restart it from an old snapshot: ``save()``, make writes, ``stop()``
(no snapshot on the way down), ``start()`` (loads the last ``save()``). ``cache_settings()``
is the Django ``CACHES`` entry for it, with short socket timeouts; ``unreachable_cache_settings()``
is one for a port where nothing listens (a process partitioned from the cache).

Use the ``redis_server`` fixture (import it into the test module), or the class as a context
manager. Without the binary the fixture skips, saying what to install, except under
``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BINARY = "redis-server"
INSTALL_HINT = "apt-get install redis-server"
# What the README recommends for Switchyard's alias (tests/conditions/test_cache.py also runs
# Django's own RedisCache against a dead server).
BACKEND = "django_redis.cache.RedisCache"
# Seconds a client waits for a dead server: short, so an outage costs tests little time.
SOCKET_TIMEOUT = 0.5
START_TIMEOUT = 10.0


def in_ci() -> bool:
    """Return whether this run is CI (``CI=true``): a missing server is then a failure."""
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def free_port() -> int:
    """Return a loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def unreachable_cache_settings(timeout: float = SOCKET_TIMEOUT) -> dict[str, Any]:
    """Return a Django cache entry for a Redis that cannot be reached (nothing listens)."""
    return _cache_entry(f"redis://127.0.0.1:{free_port()}/0", timeout)


def _cache_entry(url: str, timeout: float) -> dict[str, Any]:
    return {
        "BACKEND": BACKEND,
        "LOCATION": url,
        "OPTIONS": {"SOCKET_TIMEOUT": timeout, "SOCKET_CONNECT_TIMEOUT": timeout},
    }


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1, its data in a temporary directory."""

    def __init__(self, binary: str = BINARY) -> None:
        path = shutil.which(binary)
        if path is None:
            raise FileNotFoundError(f"{binary} is not installed ({INSTALL_HINT})")
        self.binary = path
        self.directory = Path(tempfile.mkdtemp(prefix="switchyard-redis-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def snapshot(self) -> Path:
        """The RDB file ``save()`` writes and ``start()`` loads."""
        return self.directory / "dump.rdb"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server (loading the last ``save()``, if any) and wait until it answers."""
        if self.running:
            return
        log = (self.directory / "redis.log").open("ab")
        # No automatic snapshots and none at shutdown: the RDB file is exactly the last save().
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--dbfilename", self.snapshot.name),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not self.running:
                break
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.02)
        log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")

    def stop(self) -> None:
        """Stop the server at once, writing no snapshot (the last ``save()`` stays on disk)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=START_TIMEOUT)
        self.process = None

    def restart(self) -> None:
        """Stop, then start from the last ``save()`` (an empty cache if there was none)."""
        self.stop()
        self.start()

    def save(self) -> None:
        """Write the current data to the RDB file now (a blocking ``SAVE``)."""
        self.client().save()

    def client(self) -> Any:
        """Return a ``redis.Redis`` client of this server with short timeouts."""
        import redis

        return redis.Redis.from_url(
            self.url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT
        )

    def cache_settings(self, timeout: float = SOCKET_TIMEOUT) -> dict[str, Any]:
        """Return a Django ``CACHES`` entry (``RedisCache``) for this server."""
        return _cache_entry(self.url, timeout)

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def private_redis() -> RedisServer:
    """Return a started ``RedisServer``; skip (fail under ``CI=true``) without the binary."""
    try:
        server = RedisServer()
    except FileNotFoundError as error:
        message = f"{error}: the tests with a private Redis need it"
        if in_ci():
            pytest.fail(f"{message}. CI=true: this is a failure, not a skip.", pytrace=False)
        pytest.skip(message)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private, running ``redis-server``, removed after the test."""
    server = private_redis()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def shared_cache(redis_server: RedisServer, settings: Any) -> Iterator[RedisServer]:
    """The private Redis as Switchyard's cache alias, with no client, host prediction or guess
    of a session's user left by another test (nor left for the next one)."""
    # Imported here: this module also serves tests whose project has no tenants app loaded.
    from conditions import cache as switchyard_cache
    from engine.storage import session_users
    from tenants import cache as routing

    def forget() -> None:
        switchyard_cache.reset()
        routing.forget_predictions()
        session_users.forget_all()

    settings.CACHES = {**settings.CACHES, "switchyard": redis_server.cache_settings()}
    forget()
    yield redis_server
    forget()
