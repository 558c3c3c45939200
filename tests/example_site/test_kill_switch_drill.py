"""The kill switch drilled against a live, multi-process server under concurrent requests.

gunicorn serves the demo with two worker processes (four threads each) sharing a private
Redis, on a database of its own (created, migrated and seeded here, dropped afterwards).
Eight client threads keep asking each tenant's ``/status.json`` while ``manage.py
switchyard_disable`` (another process) disables the payment strategies tenants chose, and
``switchyard_enable`` brings them back: no request fails (no 5xx), and every request sent
after a command returned sees its outcome (fallback, then the stored choice again) — in
whichever worker it lands.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.redis_server import private_redis
from tests.servers import free_port, scratch_database, stop, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "artifacts" / "kill-switch-drill.log"
PASSWORD = "switchyard"
TENANTS = ("acme", "globex", "initech")
CLIENT_THREADS = 8
GUNICORN = [
    sys.executable,
    "-m",
    "gunicorn",
    "example_site.wsgi",
    "--workers",
    "2",
    "--threads",
    "4",
]
pytestmark = pytest.mark.slow


@dataclass
class Demo:
    """The served demo: its port and the environment its commands run with."""

    port: int
    env: dict[str, str]

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "example_site/manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stderr}"
        return result.stdout


@pytest.fixture(scope="module")
def demo(django_db_blocker: Any) -> Iterator[Demo]:
    redis = private_redis()
    process = None
    try:
        with scratch_database("sy_drill") as database_url:
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "DJANGO_SETTINGS_MODULE": "example_site.settings",
                "REDIS_URL": redis.url,
                "DEBUG": "0",
                "PYTHONUNBUFFERED": "1",
            }
            port = free_port()
            served = Demo(port, env)
            try:
                served.manage("migrate_schemas", "--noinput", "-v", "0")
                served.manage("seed_demo", "--port", str(port))
                LOG.parent.mkdir(parents=True, exist_ok=True)
                with LOG.open("w") as log:
                    process = subprocess.Popen(
                        [*GUNICORN, "--bind", f"127.0.0.1:{port}", "--access-logfile", "-"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                wait_until_serving(port, process, LOG, timeout=60)
                yield served
            finally:
                stop(process)
    finally:
        redis.close()


class Session:
    """A logged-in member of one tenant, talking to the server with that tenant's host."""

    def __init__(self, port: int, tenant: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.host = f"{tenant}.localhost"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.open("/accounts/login/").read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        form = {"username": "member", "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        self.open("/accounts/login/", urllib.parse.urlencode(form).encode()).read()

    def open(self, path: str, data: bytes | None = None) -> Any:
        headers = {"Host": self.host, "Referer": f"http://{self.host}/"}
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        return self.opener.open(request, timeout=30)

    def status(self) -> tuple[int, str | None]:
        """Return the HTTP status of ``/status.json`` and the payments slug in force."""
        import json

        try:
            with self.open("/status.json") as response:
                payments = json.loads(response.read())["in_force"]["payments"]
                return response.status, payments["slug"] if payments else None
        except urllib.error.HTTPError as error:
            return error.code, None


@dataclass(frozen=True)
class Answer:
    tenant: str
    sent: float  # time.monotonic() when the request was sent
    status: int
    slug: str | None


def test_the_kill_switch_under_concurrent_requests(demo: Demo) -> None:
    demo.manage("switchyard_select", "payments", "crypto", "--tenant", "globex")  # its beta
    sessions = {tenant: [Session(demo.port, tenant) for _ in range(2)] for tenant in TENANTS}
    stored = {tenant: sessions[tenant][0].status()[1] for tenant in TENANTS}
    assert stored == {"acme": "card", "globex": "crypto", "initech": "invoice"}

    answers: list[Answer] = []
    stop = threading.Event()

    def client(number: int) -> None:
        tenant = TENANTS[number % len(TENANTS)]
        session = sessions[tenant][number % 2]
        while not stop.is_set():
            sent = time.monotonic()
            code, slug = session.status()
            answers.append(Answer(tenant, sent, code, slug))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENT_THREADS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)
        demo.manage("switchyard_disable", "payments.crypto", "--note", "provider outage")
        demo.manage("switchyard_disable", "payments.invoice", "--note", "provider outage")
        disabled_at = time.monotonic()
        time.sleep(2)
        enabling_at = time.monotonic()
        demo.manage("switchyard_enable", "payments.crypto")
        demo.manage("switchyard_enable", "payments.invoice")
        enabled_at = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    assert len(answers) > 100, "the drill made too few requests to mean anything"
    assert [a for a in answers if a.status >= 500] == []
    assert {a.status for a in answers} == {200}
    during = [a for a in answers if disabled_at < a.sent < enabling_at]
    after = [a for a in answers if a.sent > enabled_at]
    assert {a.tenant for a in during} == {a.tenant for a in after} == set(TENANTS)
    assert {a.slug for a in during} == {"card"}  # every tenant on its fallback
    assert {(a.tenant, a.slug) for a in after} == set(stored.items())  # and back
    # The stored choices were never rewritten.
    assert {tenant: sessions[tenant][1].status()[1] for tenant in TENANTS} == stored
