"""Where the database is: ``DATABASE_URL`` when set, otherwise an embedded PostgreSQL.

The embedded server comes from the ``pgserver`` wheel and keeps its data in ``.pgdata/`` at
the project root. It is started on demand by the first command that needs it and left running
so the next command reuses it in milliseconds; ``make db-stop`` stops it. A crashed run leaves
a stale ``postmaster.pid`` that pgserver detects, so the next command starts a fresh server.

pgserver keeps a list of the processes holding a handle on the server in
``.pgdata/.handle_pids.json`` and stops the server only when the last one lets go. A process
killed at the wrong moment leaves that list truncated (every later start then fails to parse
it) or holding dead ids (the server is then never "last-handle" stopped). So every start first
repairs the list, and stopping does not go through the list at all: ``pg_ctl stop``.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# django-tenants' backend, made safe behind a transaction-pooling PgBouncer ("Behind
# PgBouncer" in docs/deployment.md); it needs server-side cursors off.
ENGINE = "tenants.postgresql_backend"
EMBEDDED_DATA_DIR = Path(__file__).resolve().parent.parent / ".pgdata"
EMBEDDED_DATABASE_NAME = "switchyard"
# pgserver's list of the process ids holding a handle on the server (a JSON list of ints).
HANDLE_LIST = ".handle_pids.json"

# A throwaway development server: durability is not worth the fsync cost.
_EMBEDDED_SERVER_SETTINGS = (
    "ALTER SYSTEM SET fsync = off;"
    "ALTER SYSTEM SET synchronous_commit = off;"
    "ALTER SYSTEM SET full_page_writes = off;"
    "SELECT pg_reload_conf();"
)


def database_settings() -> dict[str, Any]:
    """Return Django's ``DATABASES["default"]`` for this environment."""
    url = os.environ.get("DATABASE_URL")
    if url:
        # Persistent connections (and a health check before reusing one) for real servers.
        settings = dj_database_url.parse(
            url, engine=ENGINE, conn_max_age=conn_max_age(60), conn_health_checks=True
        )
        return {**settings, "DISABLE_SERVER_SIDE_CURSORS": True}
    return _embedded_settings()


def conn_max_age(default: int | None) -> int | None:
    """Return ``CONN_MAX_AGE`` from the environment (seconds; ``None``: unlimited)."""
    value = os.environ.get("CONN_MAX_AGE", "").strip()
    if not value:
        return default
    if value.lower() == "none":
        return None
    try:
        seconds = int(value)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise ImproperlyConfigured(
            f"CONN_MAX_AGE must be a number of seconds (0 or more) or 'None', got {value[:20]!r}"
        )
    return seconds


def _embedded_settings() -> dict[str, Any]:
    server = start_embedded_server()
    _ensure_database(server, EMBEDDED_DATABASE_NAME)
    socket_dir = _socket_dir(server.get_uri())
    return {
        "ENGINE": ENGINE,
        "DISABLE_SERVER_SIDE_CURSORS": True,
        "NAME": EMBEDDED_DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
        # runserver starts a thread per request: persistence would buy nothing there.
        "CONN_MAX_AGE": conn_max_age(0),
    }


def start_embedded_server(data_dir: Path = EMBEDDED_DATA_DIR) -> Any:
    """Return pgserver's handle on the server of ``data_dir``, started (and set up) if need be."""
    fresh = not (data_dir / "PG_VERSION").exists()
    repair_handle_list(data_dir)
    # cleanup_mode=None: leave the server running for the next command.
    server = _pgserver().get_server(data_dir, cleanup_mode=None)
    if fresh:
        server.psql(_EMBEDDED_SERVER_SETTINGS)
    return server


def _pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _socket_dir(uri: str) -> str:
    return parse_qs(urlparse(uri).query)["host"][0]


def _ensure_database(server: Any, name: str) -> None:
    import psycopg

    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return
        # Another process may create it between our check and our CREATE.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase):
            connection.execute(f'CREATE DATABASE "{name}"')


def stop_embedded_server(data_dir: Path = EMBEDDED_DATA_DIR) -> bool:
    """Stop the embedded server whatever its handle list holds; return whether it was running."""
    if not (data_dir / "PG_VERSION").exists():
        return False
    _pgserver()
    from pgserver._commands import pg_ctl

    with _handle_list_lock():
        running = _server_pid(data_dir) is not None
        if running:
            try:
                pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=_server_user())
            except subprocess.CalledProcessError:
                if _server_pid(data_dir) is not None:
                    raise
                # It stopped on its own between our look and pg_ctl's: what we wanted.
        # Whoever held a handle holds nothing now; an empty list lets the next start begin clean.
        _write_handle_list(data_dir, [])
    return running


def repair_handle_list(data_dir: Path) -> None:
    """Make pgserver's handle list a JSON list of live process ids, rewriting it if it is not."""
    path = data_dir / HANDLE_LIST
    if not path.exists():
        return
    with _handle_list_lock():
        try:
            pids = json.loads(path.read_text())
        except (OSError, ValueError):
            pids = None  # empty (truncated by a kill mid-write) or not JSON
        valid = isinstance(pids, list) and all(_is_pid(pid) for pid in pids)
        live = [pid for pid in pids if _alive(pid)] if valid else []
        if not valid or live != pids:
            _write_handle_list(data_dir, live)


@contextlib.contextmanager
def _handle_list_lock() -> Iterator[None]:
    # pgserver reads and writes the list under this inter-process lock; so do we.
    _pgserver()
    from pgserver.postgres_server import PostgresServer

    with PostgresServer._lock:
        yield


def _write_handle_list(data_dir: Path, pids: list[int]) -> None:
    # Write then rename: a kill mid-write leaves the old list, never a truncated one.
    path = data_dir / HANDLE_LIST
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(pids))
    partial.replace(path)


def _server_pid(data_dir: Path) -> int | None:
    """Return the pid of the server running on ``data_dir``, or None (as ``pg_ctl status``)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _server_user() -> str | None:
    # As pgserver does: PostgreSQL refuses to run as root, so pgserver runs it as "pgserver".
    return "pgserver" if os.geteuid() == 0 else None


def _is_pid(value: object) -> bool:
    return type(value) is int and value > 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        print("Stopped the embedded PostgreSQL." if stop_embedded_server() else "Not running.")
    elif sys.argv[1:] == ["url"]:
        print(database_settings())
    else:
        sys.exit("usage: python -m example_site.database stop|url")
