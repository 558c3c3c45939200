"""Helpers shared by the test modules: users in a tenant's schema, with permissions."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django_tenants.utils import schema_context, tenant_context

from conditions import cache as switchyard_cache

PASSWORD = "switchyard"


def make_user(
    tenant: Any,
    username: str,
    *perms: str,
    permissions: Iterable[str] = (),
    staff: bool = False,
    superuser: bool = False,
    **fields: Any,
) -> Any:
    """Create ``username`` in ``tenant``'s schema (None: the connection's), with permissions.

    Permissions are ``"app_label.codename"`` strings, given positionally or as
    ``permissions=``; the password is ``PASSWORD``.
    """
    User = get_user_model()
    with tenant_context(tenant) if tenant is not None else nullcontext():
        if superuser:
            user = User.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
        else:
            fields.setdefault("is_staff", staff)
            user = User.objects.create_user(username, password=PASSWORD, **fields)
        for perm in (*perms, *permissions):
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
    return user


def get(host: str, path: str = "/") -> Any:
    """GET ``path`` on ``host``; the dashboard ("/") as a user of the tenant without any
    permission or group (an anonymous visitor gets the public page instead)."""
    client = Client(HTTP_HOST=host)
    if path == "/":
        with schema_context(host.split(".")[0]):  # the login lives in the tenant's schema
            visitor, _ = get_user_model().objects.get_or_create(username="visitor")
            client.force_login(visitor)
    return client.get(path)


def store(tenant: Any, slug: str) -> None:
    """Store and commit ``slug`` for payments, then let the invalidation settle."""
    from engine.storage.writes import write_selection
    from tests.transactions import committed

    with committed():  # as if the write's transaction had committed: the cache is invalidated
        write_selection("payments", slug, via="api", tenant=tenant)
    switchyard_cache.cache().clear()
