"""A separate process for tests/engine/test_cross_process.py: its settings module and its script.

The test starts it as ``python -m tests.engine.cross_process_worker`` with
``DJANGO_SETTINGS_MODULE=tests.engine.cross_process_worker`` and, in the environment,
``SWITCHYARD_WORKER_DATABASE`` (the test database's settings, as JSON),
``SWITCHYARD_WORKER_REDIS`` (the Redis URL of Switchyard's cache alias) and
``SWITCHYARD_WORKER_PREFIX`` (a key prefix of its own, so concurrent runs never meet). It reads
one command per line on stdin and answers one JSON line on stdout:

    read <schema> <registry>          {"slug": ... or null, "queries": <selection queries>}
    write <schema> <registry> <slug>  {"ok": true}    (committed, like a request would)
    forget <schema> <registry>        {"ok": true}    (deletes its rows and their history)
"""

from __future__ import annotations

import json
import os
import sys

from tests.settings import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ.get("SWITCHYARD_WORKER_DATABASE", "{}"))}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Shared by both processes: what makes a write in one visible to the other.
    "switchyard": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("SWITCHYARD_WORKER_REDIS", "redis://127.0.0.1:6379/15"),
        "KEY_PREFIX": os.environ.get("SWITCHYARD_WORKER_PREFIX", "switchyard-worker"),
    },
}
SWITCHYARD = {"CACHE": "switchyard", "CACHE_TIMEOUT": 60}


def _answer(command: str, arguments: list[str]) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from conditions import Context
    from engine.models import Selection, SelectionHistory
    from engine.storage.reads import stored_selections
    from engine.storage.writes import write_selection
    from tenants.models import Tenant

    tenant = Tenant.objects.get(schema_name=arguments[0])
    registry = arguments[1]
    with tenant_context(tenant):
        if command == "read":
            with CaptureQueriesContext(connection) as queries:
                stored = stored_selections(Context(tenant=tenant))
            selects = [q for q in queries.captured_queries if "engine_selection" in q["sql"]]
            return {"slug": stored.tenant_choice(registry), "queries": len(selects)}
        if command == "write":
            write_selection(registry, arguments[2], via="command")
            return {"ok": True}
        if command == "forget":
            Selection.objects.filter(registry=registry).delete()
            SelectionHistory.objects.filter(registry=registry).delete()
            return {"ok": True}
    raise ValueError(f"unknown command {command!r}")


def main() -> None:
    import django

    django.setup()
    print(json.dumps({"ready": os.getpid()}), flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        try:
            answer = _answer(command, arguments)
        except Exception as error:  # reported to the test, which fails with it
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
