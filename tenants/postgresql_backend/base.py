"""The ``DatabaseWrapper`` of ``ENGINE = "tenants.postgresql_backend"`` (see the package)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import NotSupportedError
from django.db.backends.postgresql.base import Cursor
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.utils import quote_schema_name

from tenants.checks_pooling import ENGINE, pooling_problems
from tenants.postgresql_backend.cursor import PinnedCursor, SchemaPin


class DatabaseOperations(TenantDatabaseWrapper.ops_class):
    """The original backend's operations; logged SQL leaves out the pin, as it leaves out BEGIN."""

    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        statement = super().last_executed_query(cursor, sql, params)
        if isinstance(statement, str) and isinstance(cursor, PinnedCursor):
            return cursor.as_written(statement)
        return statement


class DatabaseWrapper(TenantDatabaseWrapper):
    """django-tenants' backend that pins statements to the schema instead of the session.

    The schema is chosen as in django-tenants (``set_tenant``, ``set_schema``,
    ``schema_context``); ``PinnedCursor`` sends it as ``SET LOCAL search_path`` in the same
    message as the statements, never as a session-level ``SET`` that a transaction pooler
    could hand to another client or lose.
    """

    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._search_path_key: tuple[str, bool] | None = None
        self._search_path = ""
        self.schema_pin = SchemaPin(self.pinned_search_path)
        super().__init__(*args, **kwargs)

    def check_settings(self) -> None:
        """Refuse to connect with settings that would let a pooler mix schemas up."""
        super().check_settings()
        problems = pooling_problems(self.alias, self.settings_dict)
        if problems:
            raise ImproperlyConfigured(" ".join(problems))

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        # Django's default cursor binds parameters client-side and so sends the simple query
        # protocol, which carries two statements in one message (check_settings() refused
        # server-side binding and other cursor factories).
        if params.get("cursor_factory") is Cursor:
            params["cursor_factory"] = PinnedCursor
        return params

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = super().create_cursor(name)
        if isinstance(cursor, PinnedCursor):
            cursor.pin = self.schema_pin
        return cursor

    def _cursor(self, name: str | None = None) -> Any:
        if name:
            # A server-side cursor outlives the statement that declares it, which a
            # transaction pooler cannot follow; check_settings() requires them disabled.
            raise NotSupportedError(
                f"{ENGINE} does not open server-side cursors: set "
                f'DATABASES["{self.alias}"]["DISABLE_SERVER_SIDE_CURSORS"] = True.'
            )
        return super()._cursor()

    def _handle_search_path(self, cursor: Any = None) -> None:
        """No session-level ``SET search_path``: ``PinnedCursor`` pins the statements."""

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        # As in django-tenants, even the same tenant again means "set it before the next
        # query": code that ran its own SET LOCAL search_path hands the schema back this way.
        super().set_tenant(tenant, include_public)
        self.schema_pin.forget()

    def _commit(self) -> None:
        self.schema_pin.forget()
        super()._commit()

    def _rollback(self) -> None:
        self.schema_pin.forget()
        super()._rollback()

    def close(self) -> None:
        self.schema_pin.forget()
        super().close()

    def pinned_search_path(self) -> str:
        """Return the quoted search path the statements carry, e.g. ``"acme", "public"``."""
        key = (self.schema_name, self.include_public_schema)
        if key != self._search_path_key:
            # Validates every name, as django-tenants does before its own SET.
            schemas = self._get_cursor_search_paths()
            self._search_path = ", ".join(quote_schema_name(schema) for schema in schemas)
            self._search_path_key = key
        return self._search_path
