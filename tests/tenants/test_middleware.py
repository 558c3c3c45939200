"""CachedTenantMiddleware: routing from the global cache, invalidation, unknown hosts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from tenants import cache
from tenants.models import Domain, Tenant


@pytest.fixture
def committing(django_capture_on_commit_callbacks: Any) -> Callable[[], Any]:
    """``with committing():`` runs the block's on_commit callbacks at its end, like a commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def get(host: str, path: str = "/") -> Any:
    return Client(HTTP_HOST=host, raise_request_exception=False).get(path)


def test_the_example_site_uses_the_cached_middleware_first() -> None:
    # After the guard that refuses malformed cookies and credentials, which reads no tenant.
    assert settings.MIDDLEWARE[:2] == [
        "example_site.middleware.MalformedRequestMiddleware",
        "tenants.middleware.CachedTenantMiddleware",
    ]


def test_a_warm_request_costs_no_query_at_all(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    assert get("globex.localhost").status_code == 200  # cold: the domain lookup, then cached
    with django_assert_num_queries(0):
        response = get("globex.localhost")
    assert response.status_code == 200
    assert response.context["tenant"] == pro_tenant
    assert response.context["tenant"].plan == "pro"
    with override_settings(ROOT_URLCONF="tests.engine.urls_core"):
        get("globex.localhost", "/resolve/")
        with django_assert_num_queries(0):  # request.strategy read too
            assert get("globex.localhost", "/resolve/").json()["slug"] == "card"


def statements(captured: Any) -> list[str]:
    """The SQL a block ran, without django-tenants' SET search_path."""
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET ")]


def test_the_cold_request_looks_the_domain_up_once(pro_tenant: Tenant) -> None:
    # The period's first request also reads the routing fingerprints (test_cache_faults.py).
    get("acme.localhost", "/accounts/login/")
    with CaptureQueriesContext(connection) as captured:
        get("globex.localhost", "/accounts/login/")
    (lookup,) = statements(captured)
    assert 'FROM "switchyard_tenants_domain"' in lookup


def test_the_cached_tenant_is_a_real_tenant(pro_tenant: Tenant) -> None:
    get("globex.localhost")
    cached = cache.cached_tenant("globex.localhost")
    assert isinstance(cached, Tenant)
    assert cached == pro_tenant
    assert (cached.schema_name, cached.plan, cached.name) == ("globex", "pro", "Globex")
    assert not cached._state.adding


def test_the_entry_is_global_whatever_schema_reads_it(
    pro_tenant: Tenant, free_tenant: Tenant
) -> None:
    get("globex.localhost")
    with tenant_context(free_tenant):
        assert cache.cached_tenant("globex.localhost") == pro_tenant


def test_an_unknown_host_is_a_404_and_is_remembered_briefly(
    db: None, django_assert_num_queries: Any
) -> None:
    assert get("nobody.localhost").status_code == 404
    assert cache.cached_tenant("nobody.localhost") == cache.MISSING
    with django_assert_num_queries(0):
        assert get("nobody.localhost").status_code == 404


def test_how_long_unknown_hosts_are_remembered_is_a_setting(db: None) -> None:
    with override_settings(SWITCHYARD={**settings.SWITCHYARD, "TENANT_MISS_TIMEOUT": 0}):
        assert get("nobody.localhost").status_code == 404
        with CaptureQueriesContext(connection) as captured:
            assert get("nobody.localhost").status_code == 404
    assert len(statements(captured)) == 1  # timeout 0: not remembered, looked up again


def test_a_domain_added_for_a_remembered_unknown_host_routes_at_once(
    free_tenant: Tenant, committing: Callable[[], Any]
) -> None:
    assert get("shop.acme.localhost").status_code == 404
    with committing():
        Domain.objects.create(domain="shop.acme.localhost", tenant=free_tenant, is_primary=False)
    response = get("shop.acme.localhost")
    assert response.status_code == 200
    assert response.context["tenant"] == free_tenant


def test_a_plan_change_is_seen_by_the_next_request(
    free_tenant: Tenant, committing: Callable[[], Any]
) -> None:
    assert get("acme.localhost").context["tenant"].plan == "free"
    free_tenant.plan = "pro"
    with committing():
        free_tenant.save()
    assert get("acme.localhost").context["tenant"].plan == "pro"


def test_a_queryset_update_of_tenants_invalidates_too(
    free_tenant: Tenant, committing: Callable[[], Any]
) -> None:
    assert get("acme.localhost").context["tenant"].plan == "free"
    with committing():
        Tenant.objects.filter(schema_name="acme").update(plan="enterprise")
    assert get("acme.localhost").context["tenant"].plan == "enterprise"


def test_a_renamed_domain_routes_under_its_new_name_only(
    free_tenant: Tenant, committing: Callable[[], Any]
) -> None:
    assert get("acme.localhost").status_code == 200
    domain = Domain.objects.get(domain="acme.localhost")
    domain.domain = "acme-corp.localhost"
    with committing():
        domain.save()
    assert get("acme.localhost").status_code == 404
    assert get("acme-corp.localhost").status_code == 200


def test_a_queryset_update_of_domains_invalidates_old_and_new_hosts(
    free_tenant: Tenant, committing: Callable[[], Any]
) -> None:
    assert get("acme.localhost").status_code == 200
    assert get("acme-corp.localhost").status_code == 404
    with committing():
        Domain.objects.filter(domain="acme.localhost").update(domain="acme-corp.localhost")
    assert get("acme.localhost").status_code == 404
    assert get("acme-corp.localhost").status_code == 200


def test_deleting_a_tenant_or_domain_stops_routing(
    free_tenant: Tenant, pro_tenant: Tenant, committing: Callable[[], Any]
) -> None:
    assert get("acme.localhost").status_code == 200
    assert get("globex.localhost").status_code == 200
    with committing():
        Domain.objects.filter(domain="acme.localhost").delete()
    assert get("acme.localhost").status_code == 404
    with committing():
        pro_tenant.delete()  # its domains cascade; the schema stays (auto_drop_schema off)
    assert get("globex.localhost").status_code == 404


def test_invalidation_keys_are_bound_when_the_write_happens(
    free_tenant: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    assert get("acme.localhost").status_code == 200
    # Written while the connection is on acme:
    with django_capture_on_commit_callbacks() as callbacks, tenant_context(free_tenant):
        domain = Domain.objects.get(domain="acme.localhost")
        domain.domain = "acme-corp.localhost"
        domain.save()
    for callback in callbacks:  # run after the connection went back to public
        callback()
    assert cache.cached_tenant("acme.localhost") is None
    assert get("acme.localhost").status_code == 404


def test_a_write_that_rolls_back_keeps_routing(free_tenant: Tenant) -> None:
    assert get("acme.localhost").status_code == 200
    with pytest.raises(RuntimeError), transaction.atomic():
        Domain.objects.filter(domain="acme.localhost").delete()
        raise RuntimeError("rolled back")
    assert get("acme.localhost").status_code == 200


def test_long_host_names_get_short_keys() -> None:
    long_host = ("a" * 60 + ".") * 4 + "localhost"
    assert len(cache.host_key(long_host)) < 120
    assert cache.host_key(long_host) != cache.host_key(long_host.replace("a", "b", 1))


def test_a_routing_entry_is_decoded_for_the_tenant_settings_in_force(pro_tenant: Tenant) -> None:
    # The model and alias are read once per process; a changed setting is read again.
    fields = [field.attname for field in Tenant._meta.concrete_fields]
    entry = ("fingerprint", (fields, [getattr(pro_tenant, name) for name in fields]))
    decoded = cache._decode(entry, "fingerprint")
    assert isinstance(decoded, Tenant)
    assert (decoded.pk, decoded._state.db) == (pro_tenant.pk, "default")
    with override_settings(TENANT_DB_ALIAS="replica"):
        assert cache._decode(entry, "fingerprint")._state.db == "replica"
    assert cache._decode(entry, "fingerprint")._state.db == "default"
