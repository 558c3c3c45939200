"""Permission, Group and user attributes on real users in a tenant's schema."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import Group as AuthGroup
from django.contrib.auth.models import Permission as AuthPermission
from django.test.utils import override_settings
from django.utils.functional import SimpleLazyObject
from django_tenants.utils import tenant_context

from conditions import (
    Authenticated,
    Context,
    Group,
    Permission,
    Staff,
    Superuser,
    UserAttribute,
)
from tenants.models import Tenant


@pytest.fixture
def acme(free_tenant: Tenant) -> Any:
    with tenant_context(free_tenant):
        yield free_tenant


def _perm(codename: str) -> AuthPermission:
    return AuthPermission.objects.get(content_type__app_label="auth", codename=codename)


@pytest.fixture
def bob(acme: Tenant) -> Any:
    user = get_user_model().objects.create_user("bob")
    editors = AuthGroup.objects.create(name="Editors")
    editors.permissions.add(_perm("change_group"))
    user.groups.add(editors, AuthGroup.objects.create(name="Support team"))
    user.user_permissions.add(_perm("view_group"))
    return get_user_model().objects.get(pk=user.pk)


def test_permissions_direct_and_via_groups(bob: Any) -> None:
    context = Context(user=bob)
    assert Permission("auth.view_group").evaluate(context)
    assert Permission("auth.change_group").evaluate(context)
    assert not Permission("auth.delete_group").evaluate(context)
    assert bob.has_perm("auth.change_group") and not bob.has_perm("auth.delete_group")
    assert Permission("auth.view_group").explain(context).detail == "user bob has it"
    assert Permission("auth.delete_group").explain(context).detail == "user bob lacks it"


def test_request_user_lazy_object(bob: Any) -> None:
    # AuthenticationMiddleware puts a SimpleLazyObject on request.user.
    lazy = SimpleLazyObject(lambda: type(bob).objects.get(pk=bob.pk))
    context = Context(user=lazy)
    assert Permission("auth.change_group").evaluate(context)
    assert not Permission("auth.delete_group").evaluate(context)
    assert Group("Editors").evaluate(context) and Authenticated().evaluate(context)


def test_permissions_cost_one_query_for_all(bob: Any, django_assert_num_queries: Any) -> None:
    names = ["auth.view_group", "auth.change_group", "auth.delete_group", "auth.add_user"]
    with django_assert_num_queries(1):
        context = Context(user=bob)
        for name in names:
            Permission(name).evaluate(context)
    with django_assert_num_queries(0):  # another context, same user object
        for name in names:
            Permission(name).evaluate(Context(user=bob))


def test_groups_cost_one_query_for_all(bob: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(1):
        context = Context(user=bob)
        assert Group("Editors").evaluate(context)
        assert Group("Support team").evaluate(context)
        assert not Group("Admins").evaluate(context)
    explanation = Group("Admins").explain(context)
    assert explanation.detail == "user bob is in: Editors, Support team"


def test_superuser_inactive_anonymous_and_no_user(acme: Tenant) -> None:
    root = get_user_model().objects.create_user("root", is_superuser=True)
    gone = get_user_model().objects.create_user("gone", is_superuser=True, is_active=False)
    assert Permission("anything.at_all").evaluate(Context(user=root))
    assert not Permission("anything.at_all").evaluate(Context(user=gone))
    assert Permission("auth.view_group").explain(Context(user=gone)).detail == (
        "user gone is inactive"
    )
    for context in (Context(user=AnonymousUser()), Context()):
        assert not Permission("auth.view_group").evaluate(context)
        assert not Group("Editors").evaluate(context)
        assert not Authenticated().evaluate(context)
    assert Permission("auth.view_group").explain(Context()).detail == "no user"


@override_settings(
    AUTHENTICATION_BACKENDS=[
        "django.contrib.auth.backends.ModelBackend",
        "django.contrib.auth.backends.AllowAllUsersModelBackend",
    ]
)
def test_other_backends_are_asked_through_has_perm(bob: Any) -> None:
    context = Context(user=bob)
    assert Permission("auth.change_group").evaluate(context)
    assert not Permission("auth.delete_group").evaluate(context)
    assert Permission("auth.view_group").explain(context).detail.endswith("(via user.has_perm)")


def test_user_attributes_and_shorthands(acme: Tenant) -> None:
    staff = get_user_model().objects.create_user("staffer", is_staff=True)
    context = Context(user=staff)
    assert Staff().evaluate(context) and Authenticated().evaluate(context)
    assert not Superuser().evaluate(context)
    assert UserAttribute("is_active").evaluate(context)
    assert Staff() == UserAttribute("is_staff") and repr(UserAttribute("is_staff")) == "Staff()"
    assert str(Superuser()) == "user:is_superuser"
    assert Staff().explain(context).detail == "user staffer: is_staff=True"
    missing = UserAttribute("no_such_thing").explain(context)
    assert missing.error is not None and not missing.result
    method = UserAttribute("get_username").explain(context)
    assert "is a method" in str(method.error)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Permission("nodot"), "Permission needs 'app_label.codename'"),
        (lambda: Permission(""), "Permission needs a non-empty string"),
        (lambda: Permission(" a.b"), "Permission needs 'app_label.codename'"),
        (lambda: Group(""), "Group needs a non-empty string"),
        (lambda: UserAttribute("_secret"), "UserAttribute needs a public attribute"),
        (lambda: UserAttribute("is staff"), "UserAttribute needs a public attribute"),
    ],
)
def test_bad_arguments(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


class CountingBackend:
    """An authentication backend that counts has_perm calls; 'auth.broken' raises."""

    calls: ClassVar[list[str]] = []

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def has_perm(self, user: Any, permission: str, obj: Any = None) -> bool:
        CountingBackend.calls.append(permission)
        if permission == "auth.broken":
            raise RuntimeError("the permission service is down")
        return permission == "auth.change_group"


@override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.CountingBackend"])
def test_a_custom_backend_is_asked_once_per_permission_per_context(bob: Any) -> None:
    CountingBackend.calls.clear()
    context = Context(user=bob)
    conditions = [
        Permission("auth.change_group") & Permission("auth.broken"),
        Permission("auth.broken") | Permission("auth.change_group"),
        ~Permission("auth.change_group") | Permission("auth.delete_group"),
    ]
    assert [c.truth(context) for c in conditions] == [None, True, False]
    asked = sorted(CountingBackend.calls)
    assert asked == ["auth.broken", "auth.change_group", "auth.delete_group"]
    # A new context asks again: the answers are the request's, not the process's.
    assert Permission("auth.change_group").evaluate(Context(user=bob))
    assert CountingBackend.calls.count("auth.change_group") == 2
