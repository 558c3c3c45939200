"""Helpers shared by the test modules: users in a tenant's schema, with permissions."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import nullcontext
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django_tenants.utils import tenant_context

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
