"""A web worker for tests/tenants/test_cache_faults.py: its settings module and its script.

Started as ``python -m tests.tenants.routing_worker`` with
``DJANGO_SETTINGS_MODULE=tests.tenants.routing_worker`` and, in the environment,
``SWITCHYARD_WORKER_DATABASE`` (the test database's settings, as JSON),
``SWITCHYARD_WORKER_REDIS`` (the Redis of Switchyard's cache alias: the test's private one, or
a dead port for a writer partitioned from it) and ``SWITCHYARD_WORKER_BOUND``
(``STALENESS_BOUND``). One command per line on stdin, one JSON line on stdout:

    get <host>               {"status": ..., "plan": ... or null, "schema": ... or null}
    plan <schema> <plan>     {"ok": true}    (committed, as a platform admin's save)
"""

from __future__ import annotations

import json
import os
import sys

from tests.settings import *  # noqa: F403
from tests.settings import CACHES as TEST_CACHES

DATABASES = {"default": json.loads(os.environ.get("SWITCHYARD_WORKER_DATABASE", "{}"))}
CACHES = {
    **TEST_CACHES,
    "switchyard": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("SWITCHYARD_WORKER_REDIS", "redis://127.0.0.1:1/0"),
        "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
    },
}
SWITCHYARD = {
    "CACHE": "switchyard",
    "STALENESS_BOUND": int(os.environ.get("SWITCHYARD_WORKER_BOUND", "1")),
    "CACHE_RETRY_AFTER": 1,
}


def _answer(command: str, arguments: list[str]) -> dict[str, object]:
    from django.test import Client

    from tenants.models import Tenant

    if command == "get":
        # The tenant the routing gave the request (the dashboard shows it only to members).
        response = Client(HTTP_HOST=arguments[0], raise_request_exception=False).get("/")
        tenant = (response.context or {}).get("tenant") if response.status_code == 200 else None
        return {
            "status": response.status_code,
            "plan": getattr(tenant, "plan", None),
            "schema": getattr(tenant, "schema_name", None),
        }
    if command == "plan":
        from django.db import connection

        connection.set_schema_to_public()
        tenant = Tenant.objects.get(schema_name=arguments[0])
        tenant.plan = arguments[1]
        tenant.save()  # autocommit: its on_commit callbacks run now
        return {"ok": True}
    raise ValueError(f"unknown command {command!r}")


def main() -> None:
    import django

    django.setup()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # response.context: what the page was rendered with
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
