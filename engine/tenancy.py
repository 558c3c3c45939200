"""The one place in ``engine/`` that knows django-tenants: schemas, the current tenant, switching.

Without django-tenants there is one schema, ``PLAIN_SCHEMA``, and nothing to switch; every
function here then answers for that schema. ``tenants/`` builds on these instead of asking
django-tenants itself.

``pin_search_path`` is what makes Switchyard's own writes safe behind a transaction-pooling
PgBouncer: a ``SET LOCAL`` inside the transaction holds for exactly that transaction's server
connection, whatever ``search_path`` the pooled connection had.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

# The schema name used without django-tenants: the only schema there is.
PLAIN_SCHEMA = "public"
# What the system checks look for in the settings.
TENANT_MIDDLEWARE_PATH = "django_tenants.middleware.main.TenantMainMiddleware"
TENANT_KEY_FUNCTION_PATH = "django_tenants.cache.make_key"


def tenants_app_installed() -> bool:
    """Return whether ``django_tenants`` is in ``INSTALLED_APPS`` (no connection needed)."""
    return apps.is_installed("django_tenants")


def tenants_installed(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Return whether django-tenants manages the database connection ``using``."""
    return tenants_app_installed() and hasattr(connections[using], "set_tenant")


def public_schema() -> str:
    """Return the name of the public (shared) schema."""
    if not tenants_app_installed():
        return PLAIN_SCHEMA
    from django_tenants.utils import get_public_schema_name

    return str(get_public_schema_name())


def current_schema(using: str = DEFAULT_DB_ALIAS) -> str:
    """Return the schema the connection is on (``PLAIN_SCHEMA`` without django-tenants)."""
    return getattr(connections[using], "schema_name", None) or PLAIN_SCHEMA


def on_public_schema(tenant: Any = None, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Return whether ``tenant`` (default: the connection's) is the public schema's tenant."""
    if not tenants_installed(using):
        return False
    schema = getattr(tenant, "schema_name", None) or current_schema(using)
    return schema == public_schema()


def current_tenant(using: str = DEFAULT_DB_ALIAS, *, load: bool = False) -> Any:
    """Return the tenant the connection is set to (None: no tenant, or only a schema name).

    With ``load``, a schema set by name only (``schema_context``) is looked up as the tenant
    model's row (one query; None when no tenant has that schema).
    """
    if not tenants_installed(using):
        return None
    model = tenant_model()
    tenant = getattr(connections[using], "tenant", None)
    if tenant is None or isinstance(tenant, model):
        return tenant
    if not load:
        return None
    return model._default_manager.using(using).filter(schema_name=tenant.schema_name).first()


def tenant_model() -> Any:
    """Return the project's django-tenants tenant model (None without django-tenants)."""
    if not tenants_app_installed():
        return None
    from django_tenants.utils import get_tenant_model

    return get_tenant_model()


def schema_of(tenant: Any, using: str = DEFAULT_DB_ALIAS) -> str:
    """Return ``tenant``'s schema, else the connection's (``PLAIN_SCHEMA`` without tenants)."""
    return getattr(tenant, "schema_name", None) or current_schema(using)


def foreign(tenant: Any, using: str = DEFAULT_DB_ALIAS) -> bool:
    """Return whether the connection must switch schemas to work for ``tenant``."""
    if tenant is None:
        return False
    current = getattr(connections[using], "schema_name", None)  # None: no django-tenants
    return current is not None and current != getattr(tenant, "schema_name", current)


@contextlib.contextmanager
def tenant_scope(tenant: Any, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block in ``tenant``'s schema (a no-op for None, the current one, or no tenants)."""
    if not foreign(tenant, using):
        yield
        return
    connection: Any = connections[using]
    previous = connection.tenant
    connection.set_tenant(tenant)
    try:
        yield
    finally:
        _restore(connection, previous)


@contextlib.contextmanager
def in_schema(schema: str, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block with the connection on ``schema`` (a no-op without django-tenants)."""
    connection: Any = connections[using]
    if not hasattr(connection, "set_schema") or connection.schema_name == schema:
        yield
        return
    previous = connection.tenant
    connection.set_schema(schema)
    try:
        yield
    finally:
        _restore(connection, previous)


def _restore(connection: Any, previous: Any) -> None:
    if previous is None:
        connection.set_schema_to_public()
    else:
        connection.set_tenant(previous)


def quoted_table(table: str, schema: str, using: str = DEFAULT_DB_ALIAS) -> str:
    """Return ``table`` qualified with ``schema`` under django-tenants (as is without it)."""
    quote = connections[using].ops.quote_name
    if not tenants_installed(using):
        return quote(table)
    return f"{quote(schema)}.{quote(table)}"


def pin_search_path(schema: str, using: str = DEFAULT_DB_ALIAS) -> None:
    """Pin ``search_path`` to ``schema`` (then public) for the rest of the open transaction.

    Inside ``transaction.atomic`` only; without django-tenants there is nothing to pin.
    """
    if not tenants_installed(using):
        return
    connection = connections[using]
    public = public_schema()
    path = [schema] if schema == public else [schema, public]
    path += [name for name in getattr(settings, "PG_EXTRA_SEARCH_PATHS", []) if name not in path]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path = {', '.join(quote(name) for name in path)}")
