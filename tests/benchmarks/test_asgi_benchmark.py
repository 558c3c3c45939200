"""ASGI against WSGI: the example site's chain and a plain django-tenants chain, side by side.

The same page through Django's WSGI handler (``Client``) and its ASGI handler (``AsyncClient``),
for (1) the example site's middleware chain with a view that reads ``request.strategy`` and (2)
a plain django-tenants project's chain (``TenantMainMiddleware`` and Django's own middlewares)
with a view that does not. Rounds are interleaved so the machine's noise hits all four alike.
Printed: each median, each ASGI/WSGI ratio, and each ASGI overhead (ASGI minus WSGI), which is
what the thread hops cost. With ``--benchmark-disable`` (``make test``) it runs a few rounds
and checks only that every configuration answers.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.test import AsyncClient, Client, override_settings

from tenants.models import Tenant
from tests.asgi_client import asgi_get
from tests.benchmarks.asgi_support import plain_tenants_chain

HOST = "globex.localhost"
URLS = "tests.benchmarks.asgi_support"


def configurations() -> dict[str, tuple[list[str], str]]:
    return {
        "switchyard": (list(settings.MIDDLEWARE), "/strategy/"),
        "django-tenants": (plain_tenants_chain(), "/plain/"),
    }


def _requests(chain: list[str], path: str) -> tuple[Callable[[], Any], Callable[[], Any]]:
    """Return a WSGI and an ASGI request of ``path``, each client's handler built on ``chain``."""
    wsgi, asgi = Client(HTTP_HOST=HOST), AsyncClient()
    with override_settings(MIDDLEWARE=chain):
        # A client's handler loads the middleware on its first request, then keeps it.
        for response in (wsgi.get(path), asgi_get(asgi, HOST, path)):
            assert response.status_code == 200, (chain, response.content[:200])
    return (lambda: wsgi.get(path)), (lambda: asgi_get(asgi, HOST, path))


@override_settings(ROOT_URLCONF=URLS)
def test_asgi_costs_no_more_than_django_tenants_own(pro_tenant: Tenant, benchmark: Any) -> None:
    rounds = 3 if benchmark.disabled else 300
    timed: dict[str, list[float]] = {}
    calls = {}
    for name, (chain, path) in configurations().items():
        through_wsgi, through_asgi = _requests(chain, path)
        calls[f"{name} wsgi"], calls[f"{name} asgi"] = through_wsgi, through_asgi
    for name, call in calls.items():
        assert call().status_code == 200  # warm: routing, selections, flags cached
        timed[name] = []
    for _ in range(rounds):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            timed[name].append(time.perf_counter() - started)
    benchmark.pedantic(calls["switchyard asgi"], rounds=1)
    if benchmark.disabled:
        return
    median = {name: statistics.median(values) for name, values in timed.items()}
    lines = []
    for name in configurations():
        wsgi, asgi = median[f"{name} wsgi"], median[f"{name} asgi"]
        lines.append(
            f"{name}: WSGI {wsgi * 1e3:.2f} ms, ASGI {asgi * 1e3:.2f} ms, "
            f"ratio {asgi / wsgi:.2f}x, ASGI overhead {(asgi - wsgi) * 1e3:.2f} ms"
        )
    print("\nasgi: " + "\nasgi: ".join(lines))
    ours = median["switchyard asgi"] - median["switchyard wsgi"]
    theirs = median["django-tenants asgi"] - median["django-tenants wsgi"]
    assert ours <= theirs * 1.1, "Switchyard's chain costs more thread hops under ASGI"
