"""engine.signals.strategy_selected: sent after commit, never on rollback, once per change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django_tenants.utils import tenant_context

from engine.models import Selection
from engine.signals import strategy_selected
from engine.storage.history import audited
from engine.storage.writes import clear_selection, write_selection
from tenants.models import Tenant

Capture = Callable[..., Any]


@pytest.fixture
def acme(free_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(free_tenant):
        Selection.objects.exists()  # the SET search_path of the switch, out of query counts
        yield free_tenant


@pytest.fixture
def received() -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal")
        calls.append({"sender": sender, **kwargs})

    strategy_selected.connect(receiver, dispatch_uid="test-receiver")
    yield calls
    strategy_selected.disconnect(dispatch_uid="test-receiver")


def test_sent_after_commit_with_what_changed(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    owner = get_user_model().objects.create_user("owner")
    with django_capture_on_commit_callbacks() as callbacks:
        write_selection("payments", "invoice", changed_by=owner, via="form")
        assert received == []  # not before the commit
    for callback in callbacks:
        callback()
    assert received == [
        {
            "sender": Selection,
            "registry": "payments",
            "slug": "invoice",
            "previous": None,
            "user": None,
            "user_id": None,
            "changed_by": owner,
            "via": "form",
            "schema": "acme",
        }
    ]


def test_not_sent_when_the_transaction_rolls_back(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        write_selection("payments", "invoice", via="api")
        transaction.set_rollback(True)
    assert callbacks == []
    assert received == []
    assert not Selection.objects.exists()


def test_not_sent_when_a_savepoint_of_the_write_rolls_back(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        write_selection("payments", "card", via="api")
        try:
            with transaction.atomic():
                write_selection("payments", "invoice", via="api")
                raise ValueError("rolled back")
        except ValueError:
            pass
    assert [(call["previous"], call["slug"]) for call in received] == [(None, "card")]


def test_sent_for_a_change_of_a_users_own_choice_with_the_user(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    alice = get_user_model().objects.create_user("alice")
    with django_capture_on_commit_callbacks(execute=True):
        write_selection("payments", "card", user=alice, via="api")
        write_selection("payments", "invoice", user=alice, via="api")
    assert [(c["user"], c["user_id"], c["previous"], c["slug"]) for c in received] == [
        (alice, alice.pk, None, "card"),
        (alice, alice.pk, "card", "invoice"),
    ]


def test_sent_with_slug_none_when_a_selection_is_cleared(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    alice = get_user_model().objects.create_user("alice")
    write_selection("payments", "card", user=alice, via="api")
    with django_capture_on_commit_callbacks(execute=True):
        clear_selection("payments", user=alice, via="admin")
    assert [(c["user"], c["previous"], c["slug"], c["via"]) for c in received] == [
        (alice, "card", None, "admin")
    ]


def test_not_sent_when_nothing_changed(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    write_selection("payments", "card", via="api")
    with django_capture_on_commit_callbacks(execute=True):
        write_selection("payments", "card", via="api")
        clear_selection("exports", via="api")
    assert received == []


def test_sent_for_bulk_orm_writes_with_the_users_loaded(
    acme: Tenant, received: list[dict[str, Any]], django_capture_on_commit_callbacks: Capture
) -> None:
    admin = get_user_model().objects.create_user("admin")
    alice = get_user_model().objects.create_user("alice")
    Selection.objects.create(registry="payments", slug="card", user=alice)
    with django_capture_on_commit_callbacks(execute=True), audited(via="command", changed_by=admin):
        Selection.objects.filter(registry="payments").update(slug="invoice")
    assert [(c["user"], c["previous"], c["slug"], c["via"], c["changed_by"]) for c in received] == [
        (alice, "card", "invoice", "command", admin)
    ]


def test_a_failing_receiver_is_logged_and_does_not_silence_the_others(
    acme: Tenant,
    received: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Capture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    strategy_selected.connect(broken, dispatch_uid="test-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            write_selection("payments", "card", via="api")
    finally:
        strategy_selected.disconnect(dispatch_uid="test-broken")
    assert len(received) == 1
    assert "strategy_selected receiver" in caplog.text
    assert "receiver bug" in caplog.text


def test_users_are_not_loaded_when_nobody_listens(
    acme: Tenant, django_assert_num_queries: Capture
) -> None:
    alice = get_user_model().objects.create_user("alice")
    Selection.objects.create(registry="payments", slug="card", user=alice)
    # SELECT FOR UPDATE, UPDATE, SELECT after, INSERT history, the schema's generation: no
    # query for the users
    with django_assert_num_queries(5):
        Selection.objects.update(slug="invoice")
