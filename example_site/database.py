"""Where the database is: ``DATABASE_URL`` when set, otherwise an embedded PostgreSQL.

The embedded server comes from the ``pgserver`` wheel and keeps its data in ``.pgdata/`` at
the project root. It is started on demand by the first command that needs it and left running
so the next command reuses it in milliseconds; ``make db-stop`` stops it. A crashed run leaves
a stale ``postmaster.pid`` that pgserver detects, so the next command starts a fresh server.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

ENGINE = "django_tenants.postgresql_backend"
EMBEDDED_DATA_DIR = Path(__file__).resolve().parent.parent / ".pgdata"
EMBEDDED_DATABASE_NAME = "switchyard"

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
        return dict(settings)
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
    server = _embedded_server()
    _ensure_database(server, EMBEDDED_DATABASE_NAME)
    socket_dir = _socket_dir(server.get_uri())
    return {
        "ENGINE": ENGINE,
        "NAME": EMBEDDED_DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": socket_dir,
        "PORT": "",
        # runserver starts a thread per request: persistence would buy nothing there.
        "CONN_MAX_AGE": conn_max_age(0),
    }


def _embedded_server() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.simplefilter("ignore")
        import pgserver

    fresh = not (EMBEDDED_DATA_DIR / "PG_VERSION").exists()
    # cleanup_mode=None: leave the server running for the next command.
    server = pgserver.get_server(EMBEDDED_DATA_DIR, cleanup_mode=None)
    if fresh:
        server.psql(_EMBEDDED_SERVER_SETTINGS)
    return server


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


def stop_embedded_server() -> None:
    """Stop the embedded server if it is running."""
    if not (EMBEDDED_DATA_DIR / "PG_VERSION").exists():
        return
    import pgserver

    server = pgserver.get_server(EMBEDDED_DATA_DIR, cleanup_mode="stop")
    server.cleanup()


if __name__ == "__main__":
    if sys.argv[1:] == ["stop"]:
        stop_embedded_server()
    elif sys.argv[1:] == ["url"]:
        print(database_settings())
    else:
        sys.exit("usage: python -m example_site.database stop|url")
