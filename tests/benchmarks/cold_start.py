"""A new process's first request, for tests/benchmarks/test_cold_start_benchmark.py.

Run as ``python -m tests.benchmarks.cold_start <chain>`` with
``DJANGO_SETTINGS_MODULE=tests.benchmarks.cold_start``, ``SWITCHYARD_WORKER_DATABASE`` (the test
database's settings, as JSON) and ``SWITCHYARD_WORKER_REDIS`` (Switchyard's cache: a private
Redis, warm from earlier processes) in the environment. ``<chain>`` is ``switchyard`` (the
example site's chain, a view reading ``request.strategy.payments``) or ``django-tenants`` (a
plain django-tenants chain, a view reading ``request.tenant``). Prints one JSON line: how long
``django.setup()`` and the first request took, the queries that request ran and how many
modules it imported.
"""

from __future__ import annotations

import json
import os
import sys
import time

from tests.settings import *  # noqa: F403
from tests.settings import CACHES as TEST_CACHES

DATABASES = {"default": json.loads(os.environ.get("SWITCHYARD_WORKER_DATABASE", "{}"))}
CACHES = {
    **TEST_CACHES,
    "switchyard": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ.get("SWITCHYARD_WORKER_REDIS", "redis://127.0.0.1:1/0"),
        "OPTIONS": {"SOCKET_TIMEOUT": 0.5, "SOCKET_CONNECT_TIMEOUT": 0.5},
    },
}
ROOT_URLCONF = "tests.benchmarks.asgi_support"
HOST = "globex.localhost"


def main(chain: str) -> None:
    started = time.perf_counter()
    import django

    django.setup()
    setup = time.perf_counter() - started
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from tests.benchmarks.asgi_support import plain_tenants_chain

    middleware = plain_tenants_chain() if chain == "django-tenants" else None
    path = "/plain/" if chain == "django-tenants" else "/strategy/"
    connection.ensure_connection()  # both pay the connection alike: time the request alone
    modules = set(sys.modules)
    with override_settings(MIDDLEWARE=middleware) if middleware else _nothing():
        client = Client(HTTP_HOST=HOST)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            first = time.perf_counter() - started
    queries = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET ")]
    print(
        json.dumps(
            {
                "status": response.status_code,
                "setup": setup,
                "first": first,
                "queries": queries,
                "modules": sorted(set(sys.modules) - modules),
            }
        ),
        flush=True,
    )


def _nothing() -> object:
    import contextlib

    return contextlib.nullcontext()


if __name__ == "__main__":
    main(sys.argv[1])
