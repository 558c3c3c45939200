"""One cache round trip per warm request for a signed-in user too, counted by a real Redis.

The routing runs before the session says who the user is; each process remembers which user
a session cookie belonged to on each schema (``engine.storage.session_users``) and fetches that
user's own key with the routing. These tests check the round trip (Redis' own ``INFO
commandstats``, as in test_round_trip.py) and that a wrong guess (another user behind the
cookie, a signed-out session, a cookie replayed on another tenant's host) never serves anyone
else's selections.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django_tenants.utils import tenant_context

from conditions import cache as switchyard_cache
from engine.storage import session_users
from engine.storage.reads import AHEAD
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.asgi_client import asgi_get
from tests.helpers import make_user
from tests.redis_server import RedisServer, redis_server  # noqa: F401
from tests.tenants.test_round_trip import commands, get, shared_cache  # noqa: F401
from tests.transactions import settled

HOST = "globex.localhost"
OTHER_HOST = "initech.localhost"


def exports(request: HttpRequest) -> HttpResponse:
    """The export format in force (users choose their own), payments, and whether what the
    routing fetched ahead was left unused."""
    namespace = request.strategy  # type: ignore[attr-defined]
    slugs = f"{namespace.exports.slug} {namespace.payments.slug}"
    return HttpResponse(f"{slugs} {hasattr(request, AHEAD)}")


def payments(request: HttpRequest) -> HttpResponse:
    """The strategy in force for payments: no condition of it reads the user's groups."""
    return HttpResponse(request.strategy.payments.slug)  # type: ignore[attr-defined]


async def async_exports(request: HttpRequest) -> HttpResponse:
    """``exports`` read from an async view (one thread hop)."""
    strategy = await request.strategy.aget("exports")  # type: ignore[attr-defined]
    return HttpResponse(f"{strategy.slug} {hasattr(request, AHEAD)}")


urlpatterns = [
    path("exports/", exports),
    path("payments/", payments),
    path("async-exports/", async_exports),
]

URLS = override_settings(ROOT_URLCONF=__name__)


@pytest.fixture
def alice(pro_tenant: Tenant) -> Any:
    """A globex superuser who chose JSON exports for herself."""
    user = make_user(pro_tenant, "rt-alice", superuser=True)
    with settled():
        write_selection("exports", "json", user=user, via="api", tenant=pro_tenant)
    return user


@pytest.fixture
def bob(pro_tenant: Tenant) -> Any:
    """A globex user allowed spreadsheets who chose Excel exports for himself."""
    user = make_user(pro_tenant, "rt-bob", "example_site.export_spreadsheet")
    with settled():
        write_selection("exports", "xlsx", user=user, via="api", tenant=pro_tenant)
    return user


def signed_in(tenant: Tenant, user: Any, client: Client | None = None) -> Client:
    """Return ``client`` (a new one by default) with ``user``'s session on ``tenant``."""
    client = client or Client()
    with tenant_context(tenant):  # the session and the user live in the tenant's schema
        client.force_login(user)
    return client


def cookie_of(client: Client) -> str:
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def with_cookie(cookie: str) -> Client:
    """Return a client that sends ``cookie`` as its session cookie."""
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = cookie
    return client


def tables_read(queries: CaptureQueriesContext) -> list[str]:
    """Return, per query captured, the table it reads (the first ``FROM "..."``)."""
    return [query["sql"].split(' FROM "', 1)[1].split('"', 1)[0] for query in queries]


@URLS
def test_a_signed_in_users_warm_request_makes_one_round_trip_and_no_query_of_its_own(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    alice: Any,
) -> None:
    client = signed_in(pro_tenant, alice)
    assert get(HOST, "/exports/", client) == "json card False"  # cold: everything is cached
    assert session_users.predicted_user(pro_tenant.schema_name, cookie_of(client)) == alice.pk
    with CaptureQueriesContext(connection) as queries:
        sent = commands(shared_cache, lambda: get(HOST, "/exports/", client))
    assert sent == {"mget": 1}
    # Django's session and user, and the json strategy's condition Group("Developers") (looked
    # up once per request, like a permission): no read of stored selections.
    assert tables_read(queries) == ["django_session", "auth_user", "auth_group"]
    assert get(HOST, "/exports/", client) == "json card False"  # fetched ahead, used, dropped
    with CaptureQueriesContext(connection) as queries:
        sent = commands(shared_cache, lambda: get(HOST, "/payments/", client))
    assert sent == {"mget": 1}  # the user's key is fetched for any page a signed-in user reads
    assert tables_read(queries) == ["django_session", "auth_user"]  # Django's own only


@URLS
def test_another_user_behind_the_same_cookie_gets_their_own_selections(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    alice: Any,
    bob: Any,
) -> None:
    assert get(HOST, "/exports/", signed_in(pro_tenant, bob)) == "xlsx card False"  # bob's key
    client = signed_in(pro_tenant, alice)
    assert get(HOST, "/exports/", client) == "json card False"
    assert commands(shared_cache, lambda: get(HOST, "/exports/", client)) == {"mget": 1}
    # The same session key now says bob: the cookie does not change, the user does.
    with tenant_context(pro_tenant):
        session = SessionStore(session_key=cookie_of(client))
        session[SESSION_KEY] = str(bob.pk)
        session[HASH_SESSION_KEY] = bob.get_session_auth_hash()
        session.save()
    response: dict[str, str] = {}
    sent = commands(shared_cache, lambda: response.update(body=get(HOST, "/exports/", client)))
    assert response["body"] == "xlsx card False"  # never alice's json
    assert sent == {"mget": 2}  # alice's key came with the routing, unused; bob's second
    assert session_users.predicted_user(pro_tenant.schema_name, cookie_of(client)) == bob.pk
    assert commands(shared_cache, lambda: get(HOST, "/exports/", client)) == {"mget": 1}
    assert get(HOST, "/exports/", client) == "xlsx card False"


@URLS
def test_signing_out_and_in_as_another_user_serves_each_their_own(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    alice: Any,
    bob: Any,
) -> None:
    client = signed_in(pro_tenant, alice)
    assert get(HOST, "/exports/", client) == "json card False"
    assert get(HOST, "/exports/", client) == "json card False"
    alices_cookie = cookie_of(client)
    with tenant_context(pro_tenant):
        client.logout()
    assert get(HOST, "/exports/", client) == "csv card False"  # the tenant's, signed out
    # Alice's old cookie, replayed: its session is gone, so no one's, whatever was predicted.
    assert get(HOST, "/exports/", with_cookie(alices_cookie)) == "csv card False"
    assert session_users.predicted_user(pro_tenant.schema_name, alices_cookie) is None
    signed_in(pro_tenant, bob, client)
    assert get(HOST, "/exports/", client) == "xlsx card False"
    assert commands(shared_cache, lambda: get(HOST, "/exports/", client)) == {"mget": 1}
    assert get(HOST, "/exports/", client) == "xlsx card False"


@URLS
def test_a_cookie_of_one_tenant_on_another_tenants_host_reads_only_that_tenants_keys(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    enterprise_tenant: Tenant,
    alice: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = signed_in(pro_tenant, alice)
    assert get(HOST, "/exports/", client) == "json card False"
    assert get(HOST, "/exports/", client) == "json card False"
    anonymous = get(OTHER_HOST, "/exports/")
    get(OTHER_HOST, "/exports/")  # initech's host is predicted too
    cookie = cookie_of(client)
    # Even a guess that alice's pk is behind the cookie on initech (as if learned there).
    session_users.learn(enterprise_tenant.schema_name, cookie, alice.pk)
    fetched: list[str] = []
    real_get_many = switchyard_cache.get_many

    def recording(keys: Any) -> Any:
        fetched.extend(keys)
        return real_get_many(keys)

    monkeypatch.setattr(switchyard_cache, "get_many", recording)
    assert get(OTHER_HOST, "/exports/", with_cookie(cookie)) == anonymous  # no one, on initech
    assert fetched, "the request fetched nothing"
    assert not [key for key in fetched if pro_tenant.schema_name in key]
    assert session_users.predicted_user(enterprise_tenant.schema_name, cookie) is None
    assert session_users.predicted_user(pro_tenant.schema_name, cookie) == alice.pk


@URLS
def test_a_signed_in_user_is_served_with_the_cache_down(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    alice: Any,
    django_assert_max_num_queries: Any,
) -> None:
    client = signed_in(pro_tenant, alice)
    assert get(HOST, "/exports/", client) == "json card False"
    assert get(HOST, "/exports/", client) == "json card False"
    shared_cache.stop()
    # The session, the user, the domain, the selections, the flag snapshot.
    with django_assert_max_num_queries(5):
        assert get(HOST, "/exports/", client) == "json card False"
    assert get(HOST, "/exports/", client) == "json card False"


@URLS
def test_an_async_view_of_a_signed_in_user_makes_one_round_trip_too(
    shared_cache: RedisServer,  # noqa: F811
    pro_tenant: Tenant,
    alice: Any,
) -> None:
    client = AsyncClient()
    with tenant_context(pro_tenant):
        client.force_login(alice)
    assert asgi_get(client, HOST, "/async-exports/").content == b"json False"
    sent: dict[str, Any] = {}

    def request() -> None:
        sent["response"] = asgi_get(client, HOST, "/async-exports/")

    assert commands(shared_cache, request) == {"mget": 1}
    assert sent["response"].content == b"json False"
