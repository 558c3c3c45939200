"""Who may change a tenant's selections: one policy for the admin, the settings pages built on
``SelectionsForm``, the REST API and the commands that act as a user.

The policy is the permission ``engine.change_selection`` (the change permission of
``engine.Selection``), read like any permission condition: superusers hold every permission,
and staff status alone grants nothing. A user's own choice (``user_selectable`` registries)
needs no permission: it affects only them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.db import connection

from conditions import Context, Permission
from engine.tenancy import current_tenant, tenant_scope, tenants_installed

PERMISSION = "engine.change_selection"
# The policy as a condition, so a request's context answers it from the permissions its
# other conditions already loaded (one query per request for all of them).
CHANGE_SELECTIONS = Permission(PERMISSION)


def can_change_selections(who: Any) -> bool:
    """Return whether ``who`` may change the selections of a tenant.

    ``who`` is a ``conditions.Context`` (its user, judged in its tenant's schema) or a user
    (judged on the connection's tenant). Anonymous users and ``None`` may not.
    """
    context = who if isinstance(who, Context) else Context(user=who, tenant=current_tenant())
    user = context.user
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    with _schema_of(context.tenant):
        return CHANGE_SELECTIONS.evaluate(context)


def refusal(user: Any) -> str:
    """Return why ``user`` may not change a tenant's selections, for an error message."""
    if user is None or not getattr(user, "is_authenticated", False):
        return (
            "Changing the tenant's selections needs a signed-in user with the "
            f"{PERMISSION!r} permission."
        )
    return (
        f"User {user.get_username()!r} may not change the tenant's selections: that needs the "
        f"{PERMISSION!r} permission (superusers have it; staff status alone is not enough)."
    )


@contextlib.contextmanager
def _schema_of(tenant: Any) -> Iterator[None]:
    """Run the block in ``tenant``'s schema, where its users' permissions are stored."""
    schema = getattr(tenant, "schema_name", None)
    # Switching resets django-tenants' content-type cache: only switch when it differs.
    current = getattr(connection, "schema_name", None)  # django-tenants' connection only
    if schema is None or not tenants_installed() or schema == current:
        yield
        return
    with tenant_scope(tenant):
        yield
