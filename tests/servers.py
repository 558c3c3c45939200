"""Private servers for tests that need real infrastructure: a PgBouncer in front of the test DB.

``running_pgbouncer(upstream)`` starts Debian's ``pgbouncer`` on a free loopback port, in front
of the PostgreSQL that ``upstream`` (a Django ``settings_dict``) names — over TCP or a unix
socket directory (the embedded server) — with trust authentication, and stops it at the end
of the block. ``PgBouncer.django_settings()`` turns a ``settings_dict`` into one that
connects through it; ``PgBouncer.show("POOLS")`` reads its admin console.

Without the ``pgbouncer`` binary (``apt-get install pgbouncer``; ``SWITCHYARD_PGBOUNCER``
names another) the caller is skipped; under ``CI=true`` that is a failure instead.
PgBouncer refuses to run as root: as root it is started with ``-u`` as the owner of the
upstream socket directory, or ``postgres``, or ``nobody``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import psycopg
import pytest
from psycopg.rows import dict_row

PGBOUNCER = os.environ.get("SWITCHYARD_PGBOUNCER", "pgbouncer")
# Debian installs it in /usr/sbin, which a non-root PATH may lack.
PGBOUNCER_FALLBACK = Path("/usr/sbin/pgbouncer")
START_TIMEOUT = 10.0


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


def unavailable(message: str) -> NoReturn:
    """Skip with ``message`` (which says how to install what is missing); fail under CI=true."""
    if in_ci():
        pytest.fail(f"{message}. CI=true: this is a failure, not a skip.", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pgbouncer_binary() -> str:
    """The ``pgbouncer`` executable, or a skip (a failure under CI=true) saying how to get it."""
    found = shutil.which(PGBOUNCER)
    if found is None and PGBOUNCER == "pgbouncer" and PGBOUNCER_FALLBACK.exists():
        found = str(PGBOUNCER_FALLBACK)
    if found is None:
        unavailable(
            f"No {PGBOUNCER!r} executable: the transaction-pooling tests run a private "
            "PgBouncer; install it with `apt-get install pgbouncer` (or point "
            "SWITCHYARD_PGBOUNCER at a pgbouncer binary)"
        )
    return found


@dataclass
class PgBouncer:
    """A running private PgBouncer: where it listens and how it pools."""

    port: int
    pool_mode: str
    pool_size: int
    user: str
    log: Path
    host: str = "127.0.0.1"

    def django_settings(self, settings_dict: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
        """``settings_dict`` pointed at this PgBouncer (``changes`` override keys).

        PgBouncer rejects the ``options`` startup parameter (``-c name=value``), so it is
        dropped from ``OPTIONS``.
        """
        options = {k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if k != "options"}
        return {
            **settings_dict,
            "HOST": self.host,
            "PORT": str(self.port),
            "OPTIONS": options,
            **changes,
        }

    def show(self, what: str) -> list[dict[str, Any]]:
        """Rows of the admin console's ``SHOW <what>`` (``POOLS``, ``SERVERS``, ``STATS``)."""
        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="pgbouncer", autocommit=True
        ) as admin:
            # The console speaks only the simple query protocol: no parameters here.
            return admin.cursor(row_factory=dict_row).execute(f"SHOW {what}").fetchall()  # type: ignore[arg-type]

    def read_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _upstream(settings_dict: Mapping[str, Any]) -> tuple[str, str]:
    host = str(settings_dict.get("HOST") or "")
    port = str(settings_dict.get("PORT") or "5432")
    if not host:
        unavailable(
            "The test database has no HOST: PgBouncer needs to be told where PostgreSQL is "
            "(a host name, an address or a unix socket directory; set DATABASE_URL)"
        )
    return host, port


def _run_as(host: str) -> str | None:
    """The user to drop to when root (PgBouncer refuses to run as root), else None."""
    if os.geteuid() != 0:
        return None
    if host.startswith("/"):
        # The embedded server's socket directory is its own user's: only it may connect.
        owner = pwd.getpwuid(Path(host).stat().st_uid).pw_name
        if owner != "root":
            return owner
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    unavailable("PgBouncer refuses to run as root and there is no postgres or nobody user")


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _write_config(
    directory: Path, settings_dict: Mapping[str, Any], port: int, pool_mode: str, pool_size: int
) -> Path:
    host, upstream_port = _upstream(settings_dict)
    user = str(settings_dict.get("USER") or "postgres")
    password = str(settings_dict.get("PASSWORD") or "")
    users = directory / "users.txt"
    # Trust towards the tests; towards PostgreSQL PgBouncer logs in with this password, if any.
    users.write_text(f"{_quoted(user)} {_quoted(password)}\n")
    config = directory / "pgbouncer.ini"
    config.write_text(
        "\n".join(
            [
                "[databases]",
                f"* = host={host} port={upstream_port}",
                "[pgbouncer]",
                "listen_addr = 127.0.0.1",
                f"listen_port = {port}",
                "unix_socket_dir =",
                "auth_type = trust",
                f"auth_file = {users}",
                f"admin_users = {user}",
                f"pool_mode = {pool_mode}",
                f"default_pool_size = {pool_size}",
                "min_pool_size = 0",
                "reserve_pool_size = 0",
                "max_client_conn = 200",
                # psycopg and Django send nothing else PgBouncer would reject.
                "ignore_startup_parameters = extra_float_digits",
                "",
            ]
        )
    )
    for path in (directory, users, config):
        # Readable by the user PgBouncer drops to when started as root.
        path.chmod(0o755 if path.is_dir() else 0o644)
    return config


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"pgbouncer exited ({process.returncode}) before listening:\n"
                f"{log.read_text(errors='replace')}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on {port} within {START_TIMEOUT} s")


@contextmanager
def running_pgbouncer(
    upstream: Mapping[str, Any], *, pool_mode: str = "transaction", pool_size: int = 2
) -> Iterator[PgBouncer]:
    """A private PgBouncer in front of ``upstream``'s server for the block, then stopped."""
    binary = pgbouncer_binary()
    host, _port = _upstream(upstream)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="switchyard-pgbouncer-") as name:
        directory = Path(name)
        config = _write_config(directory, upstream, port, pool_mode, pool_size)
        log = directory / "pgbouncer.log"
        run_as = _run_as(host)
        command = [binary, *(["-u", run_as] if run_as else []), str(config)]
        with log.open("wb") as output:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_until_listening(process, port, log)
            yield PgBouncer(
                port=port,
                pool_mode=pool_mode,
                pool_size=pool_size,
                user=str(upstream.get("USER") or "postgres"),
                log=log,
            )
        finally:
            process.terminate()  # SIGTERM: immediate shutdown
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the demo served by a process of its own ----------------------------------------------------


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """Create a database of its own on the test server; yield its ``DATABASE_URL``, then drop it.

    For a server process (runserver, gunicorn) that migrates and seeds a database apart from the
    test database. A socket directory (the embedded server) goes in the URL percent-encoded.
    """
    from django.db import connection

    config = connection.settings_dict
    admin = {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    name = f"{prefix}_{os.getpid()}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    credentials = quote(config["USER"], safe="")
    if config["PASSWORD"]:
        credentials += ":" + quote(config["PASSWORD"], safe="")
    host = quote(config["HOST"] or "127.0.0.1", safe="")
    port = f":{config['PORT']}" if config["PORT"] else ""
    try:
        yield f"postgres://{credentials}@{host}{port}/{name}"
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until_serving(
    port: int, process: subprocess.Popen[Any], log: Path, timeout: float = 30
) -> None:
    """Return once the demo on ``port`` answers; fail (naming ``log``) if ``process`` exits."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": "localhost"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The demo server exited ({process.returncode}): see {log}")
        try:
            with urllib.request.urlopen(request, timeout=5):
                return
        except OSError:  # refused, reset, or a worker still booting past the timeout
            time.sleep(0.2)
    pytest.fail(f"The demo server did not answer within {timeout} s; see {log}")


def stop(process: subprocess.Popen[Any] | None) -> None:
    """Terminate ``process`` (kill it after 10 s) and reap it."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
