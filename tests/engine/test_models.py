"""engine.models: one row per (registry, user); every ORM write recorded and invalidated."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import tenant_context

from conditions import Context
from conditions import cache as switchyard_cache
from engine.models import Selection, SelectionHistory
from engine.storage import cache
from engine.storage.history import audited
from engine.storage.reads import stored_selections
from engine.storage.writes import write_selection
from tenants.models import Tenant
from tests.helpers import make_user
from tests.transactions import choices, committed


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant):
        Selection.objects.exists()  # the SET search_path of the switch, out of query counts
        yield free_tenant


def history() -> list[tuple[str, Any, str | None, str | None, str]]:
    rows = SelectionHistory.objects.order_by("id")
    return [(h.registry, h.user_id, h.before_slug, h.after_slug, h.via) for h in rows]


def warm(tenant: Tenant, user: Any = None) -> None:
    """Read once so the tenant's (and the user's) selections are cached."""
    stored_selections(Context(tenant=tenant, user=user))


def cached(tenant: Tenant, user: Any = None) -> Any:
    return choices(
        switchyard_cache.cache().get(cache.key_for(tenant.schema_name, getattr(user, "pk", None)))
    )


# Constraints ---------------------------------------------------------------------------------


def test_one_tenant_level_row_per_registry(acme: Tenant) -> None:
    Selection.objects.create(registry="payments", slug="card")
    with (
        pytest.raises(IntegrityError, match="engine_selection_one_per_tenant"),
        transaction.atomic(),
    ):
        Selection.objects.create(registry="payments", slug="invoice")


def test_one_row_per_registry_and_user(acme: Tenant) -> None:
    alice = make_user(None, "alice")
    Selection.objects.create(registry="payments", slug="card", user=alice)
    with pytest.raises(IntegrityError, match="engine_selection_one_per_user"), transaction.atomic():
        Selection.objects.create(registry="payments", slug="invoice", user=alice)


def test_tenant_and_users_each_have_their_own_row(acme: Tenant) -> None:
    alice, bob = make_user(None, "alice"), make_user(None, "bob")
    Selection.objects.create(registry="payments", slug="card")
    Selection.objects.create(registry="payments", slug="invoice", user=alice)
    Selection.objects.create(registry="payments", slug="crypto", user=bob)
    Selection.objects.create(registry="notifications", slug="email")
    assert Selection.objects.count() == 4


def test_blank_values_are_refused_by_the_database(acme: Tenant) -> None:
    with pytest.raises(IntegrityError, match="engine_selection_not_blank"), transaction.atomic():
        Selection.objects.bulk_create([Selection(registry="payments", slug="")])


def test_field_validators_name_the_problem(acme: Tenant) -> None:
    selection = Selection(registry="pay ments", slug="x" * 101)
    with pytest.raises(ValidationError) as caught:
        selection.full_clean()
    errors = caught.value.message_dict
    assert "Registry key 'pay ments' is not valid" in errors["registry"][0]
    assert "expected 1 to 100 characters" in errors["slug"][0]


def test_selection_lives_in_each_tenant_schema(free_tenant: Tenant, pro_tenant: Tenant) -> None:
    with tenant_context(free_tenant):
        Selection.objects.create(registry="payments", slug="invoice")
    with tenant_context(pro_tenant):
        assert not Selection.objects.exists()
        Selection.objects.create(registry="payments", slug="card")  # no clash across schemas
    with tenant_context(free_tenant):
        assert Selection.objects.get().slug == "invoice"


def test_str(acme: Tenant) -> None:
    alice = make_user(None, "alice")
    assert str(Selection(registry="payments", slug="card")) == "payments = card (tenant)"
    assert str(Selection(registry="payments", slug="card", user=alice)) == (
        f"payments = card (user {alice.pk})"
    )
    entry = SelectionHistory(registry="payments", before_slug="card", after_slug=None, via="api")
    assert str(entry) == "payments (tenant): card → None via api"


# History of every ORM write path -------------------------------------------------------------


def test_save_records_each_change_and_skips_no_ops(acme: Tenant) -> None:
    selection = Selection.objects.create(registry="payments", slug="card")
    selection.slug = "invoice"
    selection.save()
    selection.save()  # nothing changed: nothing recorded
    assert history() == [
        ("payments", None, None, "card", "orm"),
        ("payments", None, "card", "invoice", "orm"),
    ]


def test_save_of_a_row_read_from_the_database_knows_what_it_replaces(acme: Tenant) -> None:
    Selection.objects.create(registry="payments", slug="card")
    selection = Selection.objects.get()
    selection.slug = "crypto"
    selection.save(update_fields=["slug"])
    assert history()[-1] == ("payments", None, "card", "crypto", "orm")


def test_save_of_a_row_built_by_hand_with_a_primary_key_reads_the_old_slug(acme: Tenant) -> None:
    stored = Selection.objects.create(registry="payments", slug="card")
    Selection(pk=stored.pk, registry="payments", slug="invoice").save()
    assert history()[-1] == ("payments", None, "card", "invoice", "orm")


def test_moving_a_row_to_another_user_records_both_sides(acme: Tenant) -> None:
    alice, bob = make_user(None, "alice"), make_user(None, "bob")
    selection = Selection.objects.create(registry="payments", slug="card", user=alice)
    selection.user = bob
    selection.save()
    assert sorted(history()[1:], key=repr) == sorted(
        [("payments", alice.pk, "card", None, "orm"), ("payments", bob.pk, None, "card", "orm")],
        key=repr,
    )


def test_audited_block_names_the_path_and_the_author(acme: Tenant) -> None:
    admin = make_user(None, "admin")
    with audited(via="admin", changed_by=admin):
        selection = Selection.objects.create(registry="payments", slug="card")
    assert selection.changed_by == admin
    entry = SelectionHistory.objects.get()
    assert (entry.via, entry.changed_by_id) == ("admin", admin.pk)


def test_audited_refuses_a_malformed_via(acme: Tenant) -> None:
    with pytest.raises(ValidationError, match="via '' is not valid"), audited(via=""):
        pass


def test_queryset_update_records_history(acme: Tenant) -> None:
    alice = make_user(None, "alice")
    Selection.objects.create(registry="payments", slug="card")
    Selection.objects.create(registry="payments", slug="card", user=alice)
    Selection.objects.create(registry="exports", slug="csv")
    count = Selection.objects.filter(registry="payments").update(slug="invoice")
    assert count == 2
    assert sorted(history()[3:], key=repr) == sorted(
        [
            ("payments", None, "card", "invoice", "orm"),
            ("payments", alice.pk, "card", "invoice", "orm"),
        ],
        key=repr,
    )


def test_queryset_update_of_untracked_fields_records_nothing(
    acme: Tenant, django_assert_num_queries: Callable[..., Any]
) -> None:
    admin = make_user(None, "admin")
    Selection.objects.create(registry="payments", slug="card")
    with django_assert_num_queries(1):
        Selection.objects.update(changed_by=admin)
    assert len(history()) == 1


def test_bulk_update_records_history(acme: Tenant) -> None:
    first = Selection.objects.create(registry="payments", slug="card")
    second = Selection.objects.create(registry="exports", slug="csv")
    first.slug, second.slug = "invoice", "xlsx"
    Selection.objects.bulk_update([first, second], ["slug"])
    assert sorted(history()[2:]) == [
        ("exports", None, "csv", "xlsx", "orm"),
        ("payments", None, "card", "invoice", "orm"),
    ]


def test_bulk_create_records_only_what_it_changed(acme: Tenant) -> None:
    Selection.objects.create(registry="payments", slug="card")
    created = Selection.objects.bulk_create(
        [Selection(registry="payments", slug="crypto"), Selection(registry="exports", slug="csv")],
        ignore_conflicts=True,
    )
    assert len(created) == 2
    assert history() == [
        ("payments", None, None, "card", "orm"),
        ("exports", None, None, "csv", "orm"),
    ]
    assert Selection.objects.get(registry="payments").slug == "card"


def test_queryset_delete_records_history(acme: Tenant) -> None:
    Selection.objects.create(registry="payments", slug="card")
    Selection.objects.create(registry="exports", slug="csv")
    Selection.objects.all().delete()
    assert sorted(history()[2:]) == [
        ("exports", None, "csv", None, "orm"),
        ("payments", None, "card", None, "orm"),
    ]


def test_deleting_a_user_records_the_removal_of_their_selections(acme: Tenant) -> None:
    alice = make_user(None, "alice")
    Selection.objects.create(registry="payments", slug="invoice", user=alice)
    alice_pk = alice.pk
    alice.delete()
    assert not Selection.objects.exists()
    assert history()[-1] == ("payments", alice_pk, "invoice", None, "orm")
    # The history keeps the id of a deleted user: no foreign key to break at commit.
    connection.check_constraints()


# Invalidation of every ORM write path --------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda: Selection.objects.filter(registry="payments").update(slug="invoice"),
            id="update",
        ),
        pytest.param(lambda: Selection.objects.filter(registry="payments").delete(), id="delete"),
        pytest.param(
            lambda: Selection.objects.update_or_create(
                registry="payments", user=None, defaults={"slug": "invoice"}
            ),
            id="update_or_create",
        ),
        pytest.param(
            lambda: Selection.objects.bulk_update(
                [Selection(pk=Selection.objects.get().pk, registry="payments", slug="invoice")],
                ["slug"],
            ),
            id="bulk_update",
        ),
    ],
)
def test_orm_writes_invalidate_the_cached_selections(
    acme: Tenant, write: Callable[[], Any]
) -> None:
    with committed():
        Selection.objects.create(registry="payments", slug="card")
    switchyard_cache.cache().clear()
    warm(acme)
    assert cached(acme) == {"payments": "card"}
    with committed():
        write()
    assert cached(acme) == cache.INVALIDATED


def test_bulk_create_invalidates_the_cached_selections(
    acme: Tenant, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    warm(acme)
    assert cached(acme) == {}
    with django_capture_on_commit_callbacks(execute=True):
        Selection.objects.bulk_create([Selection(registry="payments", slug="card")])
    assert cached(acme) == cache.INVALIDATED


def test_a_user_selection_invalidates_only_that_users_key(
    acme: Tenant, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    alice, bob = make_user(None, "alice"), make_user(None, "bob")
    warm(acme, alice)
    warm(acme, bob)
    with django_capture_on_commit_callbacks(execute=True):
        write_selection("payments", "invoice", user=alice, via="api")
    assert cached(acme, alice) == cache.INVALIDATED
    assert cached(acme, bob) == {}
    assert cached(acme) == {}
