"""A full warm request on Redis against a plain django-tenants project's, side by side.

The same host through Django's test client, interleaved so the machine's noise hits all alike:

- ``switchyard``: the example site's whole chain (``CachedTenantMiddleware``,
  ``StrategyMiddleware``, waffle...), Switchyard's cache alias on a private ``redis-server``,
  a view that reads ``request.strategy.payments``: one cache round trip, no query.
- ``switchyard, unpredicted``: the same, with the host's schema prediction forgotten before each
  request (a new process every time): the routing and the selections in two round trips, as
  before the prediction.
- ``django-tenants``: a plain django-tenants project: ``TenantMainMiddleware`` (one query for
  the domain) and Django's own middlewares, a view that reads ``request.tenant``.
- ``django-tenants, routing cached``: that project with ``CachedTenantMiddleware`` instead (one
  round trip, no query): what the rest of the chain costs both sides.
- ``floor: django-tenants' chain, one round trip``: that project with its routing replaced by
  one ``get_many`` of the same keys as the first row's (``OneRoundTripMiddleware``, the tenant
  held in memory, nothing validated or decoded): the least any design that routes with one
  cache round trip costs on this chain, Switchyard or not.
- ``django alone``: no middleware at all, a view that answers a constant: what the client, the
  handler and URL resolution cost whatever the project.
- ``switchyard, signed in``: the first row for a signed-in user (Django reads the session and
  the user: two queries either side): the user's own selections come with the routing, one
  round trip.
- ``switchyard, signed in, user unpredicted``: the same, with the guess of the user behind the
  session cookie forgotten before each request: the user's key in a second round trip, as
  before the guess.
- ``django-tenants, signed in``: the plain project for that user, a view reading
  ``request.tenant`` and ``request.user``.

Printed: each median and each ratio to ``django-tenants`` (the signed-in rows also to
``django-tenants, signed in``). Asserted: the warm request sends one command to Redis, signed
in or not, and costs less than the plain project's (signed in: its signed-in request).
The issue's target (``TARGET_RATIO``) is printed with the floor's ratio beside it.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.test import Client, override_settings
from django_tenants.utils import tenant_context

from engine.storage import reads, session_users
from tenants import cache
from tenants.models import Tenant
from tests.benchmarks.asgi_support import (
    TENANT_MIDDLEWARE,
    OneRoundTripMiddleware,
    plain_tenants_chain,
)
from tests.helpers import make_user
from tests.redis_server import RedisServer, redis_server, shared_cache  # noqa: F401

HOST = "globex.localhost"
URLS = "tests.benchmarks.asgi_support"
ROUNDS = 400
CACHED_ROUTING = "tenants.middleware.CachedTenantMiddleware"
ONE_ROUND_TRIP = "tests.benchmarks.asgi_support.OneRoundTripMiddleware"
# The target: a full warm request on Redis at most this share of the plain project's.
TARGET_RATIO = 0.3


def _client(
    chain: list[str], path: str, user: Any = None, *, forget_user: bool = False
) -> Callable[[], Any]:
    """Return a request of ``path`` through a client whose handler is built on ``chain``.

    ``user``: signed in as that user of ``HOST``'s tenant; ``forget_user``: the guess of the
    user behind this client's session cookie forgotten before each request (only this one).
    """
    client = Client(HTTP_HOST=HOST)
    if user is not None:
        with tenant_context(user.tenant):  # the session lives in the tenant's schema
            client.force_login(user)
    with override_settings(MIDDLEWARE=chain):
        # A client's handler loads the middleware on its first request, then keeps it.
        response = client.get(path)
        assert response.status_code == 200, (chain, response.content[:200])
    if not forget_user:
        return lambda: client.get(path)
    schema, cookie = user.tenant.schema_name, client.cookies[settings.SESSION_COOKIE_NAME].value

    def unpredicted() -> Any:
        session_users.learn(schema, cookie, None)
        return client.get(path)

    return unpredicted


def _routing_replaced(routing: str) -> list[str]:
    """The plain project's chain with ``routing`` in place of django-tenants' own."""
    return [routing if path == TENANT_MIDDLEWARE else path for path in plain_tenants_chain()]


def _floor(tenant: Tenant) -> list[str]:
    """The plain chain routing with one round trip for the keys a warm request fetches."""
    OneRoundTripMiddleware.prepare(
        tenant,
        [
            cache.host_key(HOST),
            cache.bucket_key(cache.bucket_of(HOST)),
            cache.check_key(),
            *reads.ahead_keys(tenant.schema_name),
        ],
    )
    return _routing_replaced(ONE_ROUND_TRIP)


def _unpredicted(request: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        cache.forget_predictions()
        return request()

    return call


def _sent(redis: Any, request: Callable[[], Any]) -> tuple[dict[str, int], bytes]:
    """Return the commands ``request()`` sent to ``redis`` and the response's content."""
    redis.config_resetstat()
    content = request().content
    stats = redis.info("commandstats")
    return {k: v["calls"] for k, v in stats.items() if "config" not in k}, content


@override_settings(ROOT_URLCONF=URLS)
def test_a_warm_request_against_a_plain_django_tenants_projects(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    benchmark: Any,
) -> None:
    user = make_user(pro_tenant, "bench-user")
    user.tenant = pro_tenant  # where _client signs it in
    ours = _client(list(settings.MIDDLEWARE), "/strategy/")
    ours_signed_in = _client(list(settings.MIDDLEWARE), "/strategy/", user)
    calls = {
        "switchyard": ours,
        "switchyard, unpredicted": _unpredicted(_client(list(settings.MIDDLEWARE), "/strategy/")),
        "django-tenants": _client(plain_tenants_chain(), "/plain/"),
        "django-tenants, routing cached": _client(_routing_replaced(CACHED_ROUTING), "/plain/"),
        "floor: django-tenants' chain, one round trip": _client(_floor(pro_tenant), "/plain/"),
        "django alone": _client([], "/bare/"),
        "switchyard, signed in": ours_signed_in,
        "switchyard, signed in, user unpredicted": _client(
            list(settings.MIDDLEWARE), "/strategy/", user, forget_user=True
        ),
        "django-tenants, signed in": _client(plain_tenants_chain(), "/plain-user/", user),
    }
    for call in calls.values():
        assert call().status_code == 200  # warm: routing, selections, flags cached
    redis = shared_cache.client()
    assert _sent(redis, ours) == ({"cmdstat_mget": 1}, b"card")
    assert _sent(redis, ours_signed_in) == ({"cmdstat_mget": 1}, b"card")
    rounds = 3 if benchmark.disabled else ROUNDS
    timed: dict[str, list[float]] = {name: [] for name in calls}
    order, shuffle = list(calls), random.Random(17).shuffle
    for _ in range(rounds):
        # A new order each round: a request pays for some of the one before it (the garbage
        # it left, the caches it evicted), so no row may always follow the same one.
        shuffle(order)
        for name in order:
            started = time.perf_counter()
            calls[name]()
            timed[name].append(time.perf_counter() - started)
    benchmark.pedantic(ours, rounds=1)
    if benchmark.disabled:
        return
    median = {name: statistics.median(values) for name, values in timed.items()}
    theirs = median["django-tenants"]
    theirs_signed_in = median["django-tenants, signed in"]
    alone = median["django alone"]
    lines = [
        f"{name}: {seconds * 1e6:.0f} us, {seconds / theirs:.2f}x django-tenants; "
        f"above django alone {(seconds - alone) * 1e6:.0f} us, "
        f"{(seconds - alone) / (theirs - alone):.2f}x django-tenants'"
        + (
            f"; {seconds / theirs_signed_in:.2f}x django-tenants, signed in"
            if "signed in" in name
            else ""
        )
        for name, seconds in median.items()
    ]
    print("\nrequest: " + "\nrequest: ".join(lines))
    floor = median["floor: django-tenants' chain, one round trip"]
    print(
        f"request: target <= {TARGET_RATIO}x django-tenants (the whole request); the floor of "
        f"one round trip on this chain is {floor / theirs:.2f}x"
    )
    assert median["switchyard"] < theirs
    assert median["switchyard, signed in"] < theirs_signed_in
