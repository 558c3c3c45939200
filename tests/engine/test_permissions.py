"""engine.permissions: the one policy for changing a tenant's selections, on every surface."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Group
from django.contrib.auth.models import Permission as AuthPermission
from django.db import connection
from django_tenants.utils import tenant_context

from conditions import Context, Permission
from engine.permissions import PERMISSION, can_change_selections, refusal
from tenants.models import Tenant
from tests.helpers import make_user


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("superuser", True),
        ("permission", True),
        ("group", True),
        ("staff", False),
        ("staff-viewer", False),
        ("member", False),
        ("inactive-superuser", False),
    ],
)
def test_the_change_permission_decides_and_staff_status_does_not(
    pro_tenant: Tenant, kind: str, expected: bool
) -> None:
    user = _user(pro_tenant, kind)
    with tenant_context(pro_tenant):
        assert can_change_selections(user) is expected
        assert can_change_selections(Context(user=user, tenant=pro_tenant)) is expected


def _user(tenant: Tenant, kind: str) -> Any:
    if kind == "superuser":
        return make_user(tenant, "boss", superuser=True)
    if kind == "permission":
        return make_user(tenant, "manager", permissions=(PERMISSION,))
    if kind == "staff":
        return make_user(tenant, "staffer", staff=True)
    if kind == "staff-viewer":
        return make_user(tenant, "viewer", staff=True, permissions=("engine.view_selection",))
    if kind == "inactive-superuser":
        user = make_user(tenant, "gone", superuser=True)
        user.is_active = False
        return user
    user = make_user(tenant, "member")
    if kind == "group":
        with tenant_context(tenant):
            group = Group.objects.create(name="Admins")
            app_label, codename = PERMISSION.split(".")
            group.permissions.add(
                AuthPermission.objects.get(content_type__app_label=app_label, codename=codename)
            )
            group.user_set.add(user)
    return user


def _user_with_pk(tenant: Tenant, username: str, pk: int, perms: tuple[str, ...] = ()) -> Any:
    with tenant_context(tenant):
        user = get_user_model().objects.create_user(username, id=pk)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                AuthPermission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return user


def test_nobody_and_anonymous_may_not(pro_tenant: Tenant) -> None:
    assert not can_change_selections(None)
    assert not can_change_selections(AnonymousUser())
    assert not can_change_selections(Context(tenant=pro_tenant))
    assert "needs a signed-in user" in refusal(AnonymousUser())
    assert refusal(None) == refusal(AnonymousUser())


def test_a_context_is_judged_in_its_tenants_schema(free_tenant: Tenant, pro_tenant: Tenant) -> None:
    # The same primary key in two schemas: acme's user may, globex's may not.
    acme_owner = _user_with_pk(free_tenant, "owner", 900_001, perms=(PERMISSION,))
    globex_member = _user_with_pk(pro_tenant, "member", 900_001)
    with tenant_context(pro_tenant):
        assert can_change_selections(Context(user=acme_owner, tenant=free_tenant))
        assert connection.schema_name == "globex"  # switched back
    with tenant_context(free_tenant):
        assert not can_change_selections(Context(user=globex_member, tenant=pro_tenant))


def test_a_context_that_loaded_the_permissions_answers_without_a_query(
    pro_tenant: Tenant, django_assert_num_queries: Any
) -> None:
    make_user(pro_tenant, "manager", permissions=(PERMISSION,))
    with tenant_context(pro_tenant):
        manager = get_user_model().objects.get(username="manager")  # the search_path is set
        context = Context(user=manager, tenant=pro_tenant)
        with django_assert_num_queries(1):  # the user's permissions, once
            assert not Permission("billing.use_invoice").evaluate(context)
            assert can_change_selections(context)
        with django_assert_num_queries(0):
            assert can_change_selections(context)
