"""A write in one process reaches another process through a shared Redis, with no restart.

Two real processes (tests/engine/cross_process_worker.py) share the test database and a Redis
cache alias. Without a reachable Redis the test is skipped, except under ``CI=true``, where
that is a failure. ``SWITCHYARD_TEST_REDIS_URL`` picks the Redis (default: database 15 on
127.0.0.1:6379); every run uses a key prefix of its own.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TIMEOUT = 60


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


@pytest.fixture
def redis_url() -> str:
    """The Redis to share, or a skip (a failure under CI=true) when there is none."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2).ping()
    except Exception as error:
        message = (
            f"Redis at {REDIS_URL} is not reachable ({type(error).__name__}: {error}); the "
            "cross-process invalidation test needs one (set SWITCHYARD_TEST_REDIS_URL)"
        )
        if in_ci():
            pytest.fail(f"{message}. CI=true: this is a failure, not a skip.", pytrace=False)
        pytest.skip(message)
    return REDIS_URL


class Worker:
    """One worker process, driven line by line with a timeout on every answer."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.engine.cross_process_worker"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.pid = self._next()["ready"]

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def _next(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            pytest.fail(f"worker {self.name} did not answer within {TIMEOUT}s")
        if not line:
            self.process.wait(timeout=TIMEOUT)
            assert self.process.stderr is not None
            pytest.fail(f"worker {self.name} exited:\n{self.process.stderr.read()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            pytest.fail(f"worker {self.name}: {answer['error']}")
        return answer

    def ask(self, *command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(" ".join(command) + "\n")
        self.process.stdin.flush()
        return self._next()

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workers(redis_url: str, db: None) -> Iterator[tuple[Worker, Worker]]:
    """Two worker processes on the test database (its tenants committed) and one Redis.

    ``db`` only makes sure the test database exists; this process writes nothing to it.
    """
    prefix = f"switchyard-test-{uuid.uuid4().hex}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.engine.cross_process_worker",
        "SWITCHYARD_WORKER_DATABASE": json.dumps(connection.settings_dict, default=str),
        "SWITCHYARD_WORKER_REDIS": redis_url,
        "SWITCHYARD_WORKER_PREFIX": prefix,
    }
    started: list[Worker] = []
    try:
        started.append(Worker("A", env))
        started.append(Worker("B", env))
        yield started[0], started[1]
    finally:
        for worker in started:
            worker.stop()
        import redis

        shared = redis.Redis.from_url(redis_url)
        for key in shared.scan_iter(match=f"{prefix}:*"):
            shared.delete(key)


def test_a_write_in_one_process_is_seen_by_another_without_restart(
    workers: tuple[Worker, Worker],
) -> None:
    reader, writer = workers
    assert reader.pid != writer.pid
    # Committed rows in the shared test database: a registry key of this run only, removed
    # (with its history) whatever happens.
    registry = f"crossproc{uuid.uuid4().hex[:8]}"
    try:
        assert reader.ask("read", "acme", registry) == {"slug": None, "queries": 1}  # cold
        assert reader.ask("read", "acme", registry) == {"slug": None, "queries": 0}  # cached

        writer.ask("write", "acme", registry, "invoice")
        assert reader.ask("read", "acme", registry) == {"slug": "invoice", "queries": 1}

        writer.ask("write", "acme", registry, "card")
        assert reader.ask("read", "acme", registry)["slug"] == "card"
        # The other tenant's cached entry was never touched.
        assert reader.ask("read", "globex", registry) == {"slug": None, "queries": 1}
        assert reader.ask("read", "globex", registry) == {"slug": None, "queries": 0}
    finally:
        writer.ask("forget", "acme", registry)
