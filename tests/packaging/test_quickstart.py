"""The README's Quick start, run as written: a new project, built from README.md's own blocks.

The code blocks of README.md that follow a ``<!-- test: SCENARIO ACTION [PATH] -->`` comment
are read here at test time (the convention is described in a comment of README.md), in order:
``run`` (a console block: each ``$`` line is a command, and the lines under a ``curl`` are the
body it must answer), ``write``/``append`` (the block is a file of the project / is added to
it) and ``shell`` (the block runs in ``manage.py shell``; each ``# prints: X`` comment is a line
it must print). The project lives in a temporary directory and runs in a fresh virtualenv
where the package is installed from the wheel built from this checkout, so nothing of the
checkout (example_site, tests, the editable install) can make it pass.

The test adds exactly one thing the README does not say: a few lines at the end of the
settings that point them at this run's own database (on the test run's PostgreSQL) and Redis
keys. ``pip install`` lines are checked (they must name the package) but the wheel is installed
instead, with the extras they name; ``runserver`` gets a free port and ``--noreload``, and a
``curl`` of ``http://HOST:8000/...`` is sent to that port with ``HOST`` as its Host header.
Without Redis or PostgreSQL the tests are skipped, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
from django.conf import settings

from tests.packaging.support import ROOT, need

pytestmark = pytest.mark.slow

README = ROOT / "README.md"
STEP = re.compile(
    r"^<!-- test: (?P<scenario>[\w-]+) (?P<action>run|write|append|shell)(?: (?P<path>\S+))? -->\n"
    r"```\w*\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
EXTRAS = re.compile(r"django-switchyard\[(?P<extras>[\w,]+)\]")
# What pip says when it cannot reach an index: then the machine is offline, not the package wrong.
OFFLINE = ("NewConnectionError", "Network is unreachable", "Temporary failure in name resolution")
REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
SETTINGS_TAIL = """

# Added by tests/packaging/test_quickstart.py: this run's own database and Redis keys.
DATABASES["default"].update({database!r})
for _alias, _cache in CACHES.items():
    _cache.update(LOCATION={redis_url!r}, KEY_PREFIX=f"{prefix}-{{_alias}}")
"""


@dataclass
class Step:
    scenario: str
    action: str
    path: str | None
    body: str


@dataclass
class Command:
    line: str
    output: list[str] = field(default_factory=list)


def steps(scenario: str) -> list[Step]:
    """The README's steps of ``scenario``, in order."""
    found = [
        Step(match["scenario"], match["action"], match["path"], match["body"])
        for match in STEP.finditer(README.read_text())
    ]
    return [step for step in found if step.scenario == scenario]


def commands(body: str) -> list[Command]:
    """The ``$`` commands of a console block, each with the output lines shown under it."""
    parsed: list[Command] = []
    for line in body.splitlines():
        if parsed and parsed[-1].line.endswith("\\"):
            parsed[-1].line = parsed[-1].line[:-1] + " " + line.strip()
        elif line.startswith("$ "):
            parsed.append(Command(line[2:].strip()))
        elif parsed and line.strip():
            parsed[-1].output.append(line)
    return parsed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Project:
    """A project being built from the README's steps in ``directory``."""

    def __init__(self, directory: Path, environment: dict[str, str], settings_tail: str) -> None:
        self.directory = directory
        self.environment = environment
        self.settings_tail = settings_tail
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.server_log = directory.parent / f"{directory.name}-runserver.log"
        self.ran: list[str] = []  # every command, for what the scenario must have covered
        self.outputs: dict[str, str] = {}

    def play(self, step: Step) -> None:
        if step.action == "run":
            for command in commands(step.body):
                self.command(command)
        elif step.action == "shell":
            self.shell(step.body)
        else:
            assert step.path, f"A '{step.action}' step names no file"
            self.write(step.path, step.body, append=step.action == "append")

    def write(self, path: str, body: str, *, append: bool) -> None:
        target = self.directory / path
        if append:
            assert target.exists(), f"README appends to {path}, which no earlier step made"
            text = f"{target.read_text()}\n\n{body}"
            if target.name == "settings.py":
                text += self.settings_tail
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            text = body
        target.write_text(text)

    def command(self, command: Command) -> None:
        words = shlex.split(command.line)
        self.ran.append(command.line)
        if words[:2] == ["pip", "install"]:
            assert EXTRAS.search(command.line), f"{command.line!r} does not install the package"
        elif words[0] == "curl":
            self.curl(words[-1], command.output)
        elif "runserver" in words:
            self.serve(words[: words.index("runserver") + 1])
        else:
            self.outputs[command.line] = self.run(["bash", "-c", command.line]).stdout

    def run(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            argv,
            cwd=self.directory,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (
            f"{shlex.join(argv)} failed with status {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
        )
        return done

    def shell(self, body: str) -> None:
        printed = self.run(["python", "manage.py", "shell", "-c", body]).stdout.splitlines()
        expected = re.findall(r"^\s*# prints: (.*)$", body, re.MULTILINE)
        lines = iter(printed)
        for line in expected:
            assert any(seen.strip() == line for seen in lines), (
                f"The shell block should print {line!r} (in this order); it printed:\n"
                + "\n".join(printed)
            )

    def serve(self, argv: list[str]) -> None:
        log = self.server_log.open("wb")
        self.server = subprocess.Popen(
            [*argv, f"127.0.0.1:{self.port}", "--noreload"],
            cwd=self.directory,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.server.poll() is None, f"runserver exited:\n{self.log()}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.1)
        pytest.fail(f"runserver did not listen within 60 s:\n{self.log()}")

    def curl(self, url: str, expected: list[str]) -> None:
        assert self.server is not None, f"curl {url} before any runserver step"
        parts = urlsplit(url)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{parts.path or '/'}", headers={"Host": parts.netloc}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
        try:
            with opener.open(request, timeout=30) as response:
                body = response.read().decode()
        except urllib.error.HTTPError as error:
            pytest.fail(f"curl {url}: HTTP {error.code}\n{error.read().decode()[:3000]}")
        assert body.strip().splitlines() == expected, f"curl {url} answered:\n{body[:3000]}"

    def log(self) -> str:
        return self.server_log.read_text(errors="replace")[-5000:]

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


@pytest.fixture(scope="module")
def virtualenv(
    tmp_path_factory: pytest.TempPathFactory, distributions: tuple[Path, Path]
) -> Iterator[Path]:
    """A fresh virtualenv with the built wheel and the extras the README's install lines name."""
    extras = sorted(
        {
            extra
            for match in EXTRAS.finditer(README.read_text())
            for extra in match["extras"].split(",")
        }
    )
    path = tmp_path_factory.mktemp("quickstart") / "venv"
    created = subprocess.run(
        [sys.executable, "-m", "venv", str(path)], capture_output=True, text=True, check=False
    )
    need(created.returncode == 0, f"python -m venv failed: {created.stderr.strip()[-500:]}")
    requirement = f"{distributions[1]}[{','.join(extras)}]"
    installed = subprocess.run(
        [str(path / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    offline = any(sign in installed.stderr for sign in OFFLINE)
    need(installed.returncode == 0 or not offline, "pip cannot reach a package index (offline?)")
    assert installed.returncode == 0, f"pip install {requirement} failed:\n{installed.stderr}"
    yield path
    shutil.rmtree(path)  # about 100 MB: not worth keeping among pytest's last three runs


@pytest.fixture
def database() -> Iterator[dict[str, Any]]:
    """A new, empty database on the test run's PostgreSQL server, dropped afterwards."""
    server = settings.DATABASES["default"]
    connection_settings = {key: server.get(key, "") for key in ("USER", "PASSWORD", "HOST", "PORT")}
    params = {
        "user": server.get("USER") or None,
        "password": server.get("PASSWORD") or None,
        "host": server.get("HOST") or None,
        "port": server.get("PORT") or None,
    }
    name = f"switchyard_quickstart_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True, **params)
    except psycopg.OperationalError as error:
        need(False, f"No PostgreSQL server to create a database on: {error}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield {**connection_settings, "NAME": name}
        finally:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the test Redis; its keys are deleted afterwards."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        need(False, f"No Redis at {REDIS_URL} (SWITCHYARD_TEST_REDIS_URL): {error}")
    prefix = f"quickstart-{secrets.token_hex(4)}"
    yield prefix
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def build(
    scenario: str, directory: Path, virtualenv: Path, database: dict[str, Any], prefix: str
) -> Project:
    """Play every README step of ``scenario`` in a new project in ``directory``."""
    directory.mkdir()
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "DATABASE_URL", "PYTHONHOME"}
    }
    environment["VIRTUAL_ENV"] = str(virtualenv)
    environment["PATH"] = f"{virtualenv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    tail = SETTINGS_TAIL.format(database=database, redis_url=REDIS_URL, prefix=prefix)
    project = Project(directory, environment, tail)
    found = steps(scenario)
    assert found, f"README.md has no '<!-- test: {scenario} ... -->' steps"
    try:
        for step in found:
            project.play(step)
    finally:
        project.close()
    return project


def ran(project: Project, pattern: str) -> list[str]:
    return [line for line in project.ran if re.search(pattern, line)]


def test_the_quick_start_builds_a_django_tenants_project_that_serves_two_tenants(
    tmp_path: Path, virtualenv: Path, database: dict[str, Any], redis_prefix: str
) -> None:
    project = build("quickstart", tmp_path / "mysaas", virtualenv, database, redis_prefix)

    # What the Quick start must keep covering, whatever else it says.
    [check] = ran(project, r"manage\.py check$")
    assert "System check identified no issues" in project.outputs[check]
    assert ran(project, r"manage\.py migrate_schemas")
    assert ran(project, r"ensure_public_tenant")
    assert len(ran(project, r"manage\.py provision_tenant ")) >= 2
    hosts = {urlsplit(shlex.split(line)[-1]).hostname for line in ran(project, r"^curl ")}
    assert len(hosts) >= 2, "The Quick start should request two tenants by host"
    # The package came from the wheel, not from this checkout.
    where = project.run(["python", "-c", "import engine; print(engine.__file__)"]).stdout
    assert where.startswith(str(virtualenv)), where


def test_the_plain_django_section_builds_a_project_without_django_tenants(
    tmp_path: Path, virtualenv: Path, database: dict[str, Any], redis_prefix: str
) -> None:
    project = build("plain", tmp_path / "myshop", virtualenv, database, redis_prefix)

    [check] = ran(project, r"manage\.py check$")
    assert "System check identified no issues" in project.outputs[check]
    assert ran(project, r"manage\.py migrate$")
    assert len(ran(project, r"^curl ")) >= 2
    settings_text = (tmp_path / "myshop" / "myshop" / "settings.py").read_text()
    assert "django_tenants" not in settings_text
