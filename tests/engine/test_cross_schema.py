"""A context's permissions and groups are read in its tenant's schema, whatever the connection's.

Two tenants whose users share an id: acme's member 5000 and globex's user 5000 hold different
permissions. With the connection on globex, every surface that takes a context of acme
(select, validate, available, explain, resolve) must judge acme's member by acme's tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from conditions import Context
from engine import StrategyNamespace, get_registry
from engine.models import Selection, SelectionHistory
from tenants.models import Tenant
from tests.helpers import make_user

SHARED_ID = 5000
INVOICE_PERMISSION = "example_site.use_invoice"


def make_member(tenant: Tenant, *, may_invoice: bool) -> Any:
    perms = (INVOICE_PERMISSION,) if may_invoice else ()
    make_user(tenant, f"member-{tenant.schema_name}", *perms, id=SHARED_ID)
    with tenant_context(tenant):
        return get_user_model().objects.get(pk=SHARED_ID)  # fresh: no permission cache


def rows(*tenants: Tenant) -> list[tuple[str, int, int]]:
    counts = []
    for tenant in tenants:
        with tenant_context(tenant):
            counts.append(
                (tenant.schema_name, Selection.objects.count(), SelectionHistory.objects.count())
            )
    return counts


@pytest.fixture
def on_globex(pro_tenant: Tenant) -> Iterator[Tenant]:
    with tenant_context(pro_tenant):
        yield pro_tenant


def test_select_refuses_what_the_member_may_not_do_in_their_own_schema(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    member = make_member(free_tenant, may_invoice=False)
    make_member(pro_tenant, may_invoice=True)  # the same id may invoice on globex
    before = rows(free_tenant, pro_tenant)
    payments = get_registry("payments")
    with tenant_context(pro_tenant):
        with pytest.raises(ValidationError) as caught:
            payments.select("invoice", Context(tenant=free_tenant, user=member), via="api")
        assert caught.value.code == "unavailable"
        with pytest.raises(ValidationError):
            payments.validate_selection("invoice", Context(tenant=free_tenant, user=member))
    assert rows(free_tenant, pro_tenant) == before


def test_select_allows_what_the_member_may_do_in_their_own_schema(
    free_tenant: Tenant, pro_tenant: Tenant
) -> None:
    member = make_member(free_tenant, may_invoice=True)
    make_member(pro_tenant, may_invoice=False)
    with tenant_context(pro_tenant):
        get_registry("payments").select(
            "invoice", Context(tenant=free_tenant, user=member), via="api"
        )
        assert not Selection.objects.exists()  # nothing landed in globex
    with tenant_context(free_tenant):
        assert Selection.objects.get().slug == "invoice"


@pytest.mark.parametrize("may_invoice", [False, True])
def test_reads_judge_the_member_in_their_own_schema(
    free_tenant: Tenant, pro_tenant: Tenant, on_globex: Tenant, may_invoice: bool
) -> None:
    member = make_member(free_tenant, may_invoice=may_invoice)
    make_member(pro_tenant, may_invoice=not may_invoice)
    namespace = StrategyNamespace(Context(tenant=free_tenant, user=member))
    available = [strategy.slug for strategy in namespace.available("payments")]
    assert ("invoice" in available) is may_invoice
    assert namespace.explain("payments")["invoice"].available is may_invoice
    slugs = [strategy.slug for strategy in get_registry("payments").available(namespace.context)]
    assert ("invoice" in slugs) is may_invoice
    assert get_registry("payments").resolve(Context(tenant=free_tenant)).slug == "card"
