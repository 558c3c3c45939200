"""A new process's first request against a plain django-tenants project's, side by side.

Each run is a new Python process (tests/benchmarks/cold_start.py): ``django.setup()``, one
connection, then the first request, timed with its queries. Switchyard's cache is a private
Redis kept warm by earlier processes (a deploy restarting workers: the cache survives, the
processes are new). Runs alternate between the two chains so the machine's noise hits both.
Printed: medians, the ratio (target: at most ``TARGET_RATIO``) and the first request's
queries; asserted: at most one query for the whole flag snapshot and no more queries than the
plain project's plus that one.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.db import connection

from tenants.models import Tenant
from tests.redis_server import RedisServer, redis_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
CHAINS = ("switchyard", "django-tenants")
ROUNDS = 7
TARGET_RATIO = 1.5


def first_request(chain: str, redis_url: str) -> dict[str, Any]:
    """Run a new process's first request through ``chain``; return what it measured."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.benchmarks.cold_start",
        "SWITCHYARD_WORKER_DATABASE": json.dumps(connection.settings_dict, default=str),
        "SWITCHYARD_WORKER_REDIS": redis_url,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.cold_start", chain],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["status"] == 200, measured
    return measured


def test_a_new_process_first_request_against_a_plain_django_tenants_projects(
    redis_server: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    benchmark: Any,
) -> None:
    first_request("switchyard", redis_server.url)  # the cache is warm; processes are not
    rounds = 1 if benchmark.disabled else ROUNDS
    runs: dict[str, list[dict[str, Any]]] = {chain: [] for chain in CHAINS}
    for _ in range(rounds):
        for chain in CHAINS:
            runs[chain].append(first_request(chain, redis_server.url))
    # Nothing the request does not use, and the cache client was built at start-up
    # (conditions.cache.prepare), not by the first request.
    imported = runs["switchyard"][-1]["modules"]
    assert not any(m.split(".")[0] in ("rest_framework", "redis") for m in imported), imported
    ours, theirs = runs["switchyard"][-1], runs["django-tenants"][-1]
    flag_queries = [sql for sql in ours["queries"] if "waffle" in sql]
    assert len(flag_queries) <= 1, ours["queries"]
    assert len(ours["queries"]) <= len(theirs["queries"]) + 1, (ours, theirs)
    benchmark.pedantic(lambda: None, rounds=1)
    if benchmark.disabled:
        return
    median = {
        chain: {
            what: statistics.median(run[what] for run in runs[chain]) for what in ("setup", "first")
        }
        for chain in CHAINS
    }
    lines = [
        f"{chain}: django.setup() {median[chain]['setup'] * 1e3:.1f} ms, first request "
        f"{median[chain]['first'] * 1e3:.1f} ms, {len(runs[chain][-1]['queries'])} queries, "
        f"{len(runs[chain][-1]['modules'])} modules imported by it"
        for chain in CHAINS
    ]
    theirs_first = median["django-tenants"]["first"]
    for chain in CHAINS[:1]:
        lines.append(
            f"{chain}: first request ratio {median[chain]['first'] / theirs_first:.2f}x "
            f"(target <= {TARGET_RATIO}x); django.setup() ratio "
            f"{median[chain]['setup'] / median['django-tenants']['setup']:.2f}x"
        )
    lines.append(f"switchyard queries: {ours['queries']}")
    lines.append(f"switchyard modules: {', '.join(ours['modules'])}")
    print("\ncold start: " + "\ncold start: ".join(lines))
