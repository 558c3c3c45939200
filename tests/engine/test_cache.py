"""engine.storage.cache: keys per version and schema, tenant isolation, write-time invalidation."""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context, tenant_context

from conditions import Context
from conditions import cache as switchyard_cache
from engine import tenancy
from engine.storage import cache
from engine.storage.reads import stored_selections
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.transactions import choices, committed, settled

# The example site's default alias: keys prefixed with the schema active at call time.
SCHEMA_PREFIXED = {"CACHE": "default"}


@pytest.fixture(params=["plain alias", "schema-prefixed alias"])
def alias(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with Switchyard's own alias and with a django-tenants make_key alias."""
    if request.param == "plain alias":
        yield "switchyard"
    else:
        with override_settings(SWITCHYARD=SCHEMA_PREFIXED):
            yield "default"


def cached(schema: str, user_pk: Any = None) -> Any:
    with schema_context(schema):
        return choices(switchyard_cache.cache().get(cache.key_for(schema, user_pk)))


def read(tenant: Tenant, user: Any = None) -> Any:
    with tenant_context(tenant):
        return stored_selections(Context(tenant=tenant, user=user))


def test_keys_carry_the_package_version_and_the_schema() -> None:
    version = importlib.metadata.version("django-switchyard")
    assert cache.package_version() == version
    assert cache.key_for("acme") == f"switchyard:{version}:selections:acme"
    assert cache.key_for("acme", 7) == f"switchyard:{version}:selections:acme:user:7"
    assert cache.key_for("globex", 7) != cache.key_for("acme", 7)


def test_the_cache_is_the_alias_named_in_the_settings() -> None:
    assert switchyard_cache.cache() is caches["switchyard"]
    with override_settings(SWITCHYARD={"CACHE": "default"}):
        assert switchyard_cache.cache() is caches["default"]


def test_current_schema_follows_the_connection(free_tenant: Tenant) -> None:
    assert tenancy.current_schema() == "public"
    with tenant_context(free_tenant):
        assert tenancy.current_schema() == "acme"


def test_in_schema_switches_and_restores(free_tenant: Tenant, pro_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        with tenancy.in_schema("globex"):
            assert connection.schema_name == "globex"
        assert connection.tenant == free_tenant
    with tenancy.in_schema("acme"):
        assert connection.schema_name == "acme"
    assert connection.schema_name == "public"


# Tenant isolation ----------------------------------------------------------------------------


def test_an_entry_cached_under_one_tenant_is_invisible_under_another(
    alias: str, free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    with tenant_context(free_tenant), settled():
        write_selection("payments", "invoice", via="api")
    assert read(free_tenant).tenant_choices == {"payments": "invoice"}  # cached under acme
    assert cached("acme") == {"payments": "invoice"}
    assert read(pro_tenant).tenant_choices == {}
    # Whatever schema the connection is on, a context reads its own tenant's entry.
    with tenant_context(pro_tenant):
        assert stored_selections(Context(tenant=free_tenant)).tenant_choices == {
            "payments": "invoice"
        }
    with tenant_context(free_tenant):
        assert stored_selections(Context(tenant=pro_tenant)).tenant_choices == {}


def test_the_example_sites_default_alias_hides_any_key_from_other_tenants(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    # The alias the example site gives everything else: keys prefixed with the active schema,
    # so whatever key a caller passes, it reads its own tenant's entry.
    default = caches["default"]
    key = cache.key_for("acme")
    with tenant_context(free_tenant):
        default.set(key, {"payments": "invoice"})
        default.set("any-key", "acme's")
    with tenant_context(pro_tenant):
        assert default.get(key) is None
        assert default.get("any-key") is None
    with tenant_context(free_tenant):
        assert default.get("any-key") == "acme's"


def test_user_pk_1_of_one_tenant_never_reads_user_pk_1_of_another(
    alias: str, free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    User = get_user_model()
    with tenant_context(free_tenant):
        alice = User.objects.create_user("alice")
        with settled():
            write_selection("payments", "invoice", user=alice, via="api")
    with tenant_context(pro_tenant):
        bob = User.objects.create_user("bob", id=alice.pk)  # same pk, another person
    assert read(free_tenant, alice).user_choices == {"payments": "invoice"}
    assert read(pro_tenant, bob).user_choices == {}
    assert cached("globex", bob.pk) == {}


# Invalidation bound to the schema of the write -----------------------------------------------


def test_invalidation_after_switching_back_to_public_clears_the_written_tenants_key(
    alias: str, free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    read(free_tenant)
    read(pro_tenant)
    with schema_context("public"):
        switchyard_cache.cache().set(cache.key_for("public"), {"payments": "card"})
    with committed():
        with tenant_context(free_tenant):
            write_selection("payments", "invoice", via="api")
        assert connection.schema_name == "public"  # the commit runs from here
    assert cached("acme") == cache.INVALIDATED
    assert cached("globex") == {}
    assert cached("public") == {"payments": "card"}
    assert read(free_tenant).tenant_choice("payments") == "invoice"
    assert read(pro_tenant).tenant_choice("payments") is None


def test_invalidation_of_a_write_with_tenant_argument_is_bound_to_that_tenant(
    alias: str, free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    read(free_tenant)
    read(pro_tenant)
    with tenant_context(free_tenant), committed():
        write_selection("payments", "invoice", via="api", tenant=pro_tenant)
        assert connection.schema_name == "acme"
    assert cached("globex") == cache.INVALIDATED
    assert cached("acme") == {}


def test_a_reader_that_loaded_before_the_commit_cannot_put_the_old_value_back(
    free_tenant: Tenant,
) -> None:
    # The race: a reader misses and reads the rows (old), a writer commits and invalidates,
    # then the reader stores what it read. The marker makes that store a no-op.
    key = cache.key_for("acme")
    with tenant_context(free_tenant), committed():
        write_selection("payments", "invoice", via="api")
    assert cached("acme") == cache.INVALIDATED
    with schema_context("acme"):
        cache.fill({key: (0, {"payments": "card"}, {})})  # the late reader
    assert cached("acme") == cache.INVALIDATED
    assert read(free_tenant).tenant_choice("payments") == "invoice"


def test_readers_fill_the_cache_again_once_the_marker_expires(free_tenant: Tenant) -> None:
    key = cache.key_for("acme")
    with tenant_context(free_tenant), committed():
        write_selection("payments", "invoice", via="api")
    switchyard_cache.cache().delete(key)  # what INVALIDATION_GRACE seconds do
    read(free_tenant)
    assert cached("acme") == {"payments": "invoice"}


def test_the_marker_expires_after_the_grace_period(
    free_tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "INVALIDATION_GRACE", 0.05)
    with tenant_context(free_tenant), committed():
        write_selection("payments", "invoice", via="api")
    assert cached("acme") == cache.INVALIDATED
    time.sleep(0.1)
    assert cached("acme") is None


def test_invalidation_is_computed_at_write_time_not_at_commit_time(free_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        write_selection("payments", "invoice", via="api")
    pending = [
        callback.__self__
        for _, callback, _ in connection.run_on_commit
        if isinstance(getattr(callback, "__self__", None), cache.Invalidation)
    ]
    assert [(p.schema, p.keys) for p in pending] == [("acme", frozenset({cache.key_for("acme")}))]
