"""``PinnedCursor``: a psycopg cursor that sends the tenant's schema with the statements it runs.

Behind a transaction-pooling PgBouncer each transaction may run on a different server
connection, so a session-level ``SET search_path`` (django-tenants' way) can be lost or, worse,
be another client's. This cursor puts ``SET LOCAL search_path = ...;`` in front of a statement,
in the same simple-protocol message (Django's default client-side-binding cursor sends one),
so the server runs both in one transaction on one server connection:

- outside a transaction, in front of every statement (each is an implicit transaction);
- inside one, in front of its first statement, and again after a schema switch or a
  ``ROLLBACK TO SAVEPOINT`` (which undoes a ``SET LOCAL``). A ``SET LOCAL search_path`` the
  code runs itself inside a transaction is pooler-safe already, and holds until the next switch.

No extra round trip, and nothing is left on the server connection for its next client.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.db.backends.postgresql.base import Cursor
from psycopg import ClientCursor, Connection, Copy, sql
from psycopg.abc import Params, Query
from psycopg.copy import Writer
from psycopg.pq import TransactionStatus

# Statements PostgreSQL refuses inside a transaction block, and so inside the implicit one a
# two-statement message opens ("VACUUM cannot run inside a transaction block"). Outside a
# transaction they get a session-level SET of their own instead: fine for CREATE DATABASE
# (schema-less) and for migrations run directly against PostgreSQL, never through a pooler.
_OUTSIDE_TRANSACTION_ONLY = re.compile(
    r"\s*(?:VACUUM\b|(?:CREATE|DROP)\s+(?:DATABASE|TABLESPACE|SUBSCRIPTION)\b"
    r"|ALTER\s+(?:SYSTEM|SUBSCRIPTION)\b|REINDEX\s+(?:SYSTEM|DATABASE)\b"
    r"|(?:CREATE|DROP|REINDEX|ALTER)\b[^;]*\bCONCURRENTLY\b"
    r"|(?:COMMIT|ROLLBACK)\s+PREPARED\b)",
    re.IGNORECASE,
)
# Undoes every SET LOCAL since the savepoint: the next statement must pin again.
_ROLLBACK_TO = re.compile(r"\s*ROLLBACK\s+(?:(?:WORK|TRANSACTION)\s+)?TO\b", re.IGNORECASE)


def _text(query: object) -> str:
    if isinstance(query, bytes):
        return query.decode(errors="replace")
    if isinstance(query, sql.Composable):
        return query.as_string(None)
    return query if isinstance(query, str) else ""


def needs_own_transaction(query: object) -> bool:
    """Return whether ``query`` is a statement that cannot share a transaction block."""
    return _OUTSIDE_TRANSACTION_ONLY.match(_text(query)) is not None


def prefixed(prefix: str, query: Query, params: Params | None) -> Query:
    """Return ``query`` with ``prefix`` in front, escaped for psycopg's ``%`` placeholders."""
    if params is not None:
        # Schema names may contain "%" (django-tenants allows it); with parameters, psycopg
        # would read it as a placeholder.
        prefix = prefix.replace("%", "%%")
    if isinstance(query, bytes):
        return prefix.encode() + query
    if isinstance(query, sql.Composable):
        return sql.SQL(prefix) + query
    if isinstance(query, str):
        return prefix + query
    raise TypeError(
        f"tenants.postgresql_backend cannot pin a {type(query).__name__} query to the tenant's "
        "schema; pass a str, bytes or psycopg.sql object."
    )


def set_local(search_path: str) -> str:
    return f"SET LOCAL search_path = {search_path}"


class Pin(NamedTuple):
    """The search path to send with the next statement, and for how long it holds."""

    search_path: str
    for_transaction: bool  # False: an implicit transaction of one statement


class SchemaPin:
    """What a connection's next statement must carry so it runs in the connection's schema."""

    def __init__(self, search_path: Callable[[], str]) -> None:
        self.search_path = search_path
        # The search path SET LOCAL in the open transaction block, if any.
        self.pinned: str | None = None

    def forget(self) -> None:
        self.pinned = None

    def needed(self, connection: Connection[Any]) -> Pin | None:
        """The pin the next statement on ``connection`` needs, or None."""
        status = connection.info.transaction_status
        if status == TransactionStatus.INERROR:
            # An aborted transaction accepts nothing but ROLLBACK (TO SAVEPOINT): a SET in
            # front would fail and take the rollback down with it.
            return None
        search_path = self.search_path()
        if status == TransactionStatus.IDLE:
            self.pinned = None
            # Autocommit: one statement, one implicit transaction. Otherwise psycopg opens a
            # transaction with this statement, and the pin holds until it ends.
            return Pin(search_path, for_transaction=not connection.autocommit)
        if self.pinned == search_path:
            return None
        return Pin(search_path, for_transaction=True)


class PinnedCursor(Cursor, ClientCursor[Any]):
    """Django's client-side-binding cursor that pins its statements to the tenant's schema.

    ``pin`` is set by ``DatabaseWrapper.create_cursor``; a cursor without one (Django's own
    connection set-up: time zone, role) runs its statements unchanged.
    """

    pin: SchemaPin | None = None
    # The pin sent in front of the last statement execute() ran, if any.
    sent_pin = ""

    def execute(
        self,
        query: Query,
        params: Params | None = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> PinnedCursor:
        self.sent_pin = ""
        pin = self._needed(query)
        if pin is None:
            self._send(query, params, prepare, binary)
        elif self.connection.pgconn.pipeline_status:
            # Pipeline mode speaks the extended protocol: one statement per message.
            with self._pinned_block(pin):
                self._send(query, params, prepare, binary)
        else:
            prefix = set_local(pin.search_path) + "; "
            self._send(prefixed(prefix, query, params), params, prepare, binary)
            # The first result is the SET's; the caller expects its own statement's.
            self.nextset()
            self.sent_pin = prefix
            self._pinned(pin)
        self._after(query)
        return self

    def executemany(
        self, query: Query, params_seq: Iterable[Params], *, returning: bool = False
    ) -> None:
        pin = self._needed(query)
        if pin is None:
            super().executemany(query, params_seq, returning=returning)
            return
        # executemany pipelines extended-protocol statements: the SET cannot ride along.
        with self._pinned_block(pin):
            super().executemany(query, params_seq, returning=returning)

    @contextmanager
    def copy(
        self, statement: Query, params: Params | None = None, *, writer: Writer | None = None
    ) -> Iterator[Copy]:
        pin = self._needed(statement)
        if pin is None:
            with super().copy(statement, params, writer=writer) as copy:
                yield copy
            return
        # psycopg refuses a COPY mixed with other statements in one message.
        with self._pinned_block(pin), super().copy(statement, params, writer=writer) as copy:
            yield copy

    def stream(
        self,
        query: Query,
        params: Params | None = None,
        *,
        binary: bool | None = None,
        size: int = 1,
    ) -> Iterator[Any]:
        pin = self._needed(query)
        if pin is None:
            yield from super().stream(query, params, binary=binary, size=size)
            return
        with self._pinned_block(pin):
            yield from super().stream(query, params, binary=binary, size=size)

    def as_written(self, statement: str) -> str:
        """Return ``statement``, the last one sent, without the pin sent in front of it."""
        return statement.removeprefix(self.sent_pin)

    def _send(self, query: Any, params: Any, prepare: bool | None, binary: bool | None) -> None:
        super().execute(query, params, prepare=prepare, binary=binary)

    def _needed(self, query: Query) -> Pin | None:
        if self.pin is None:
            return None
        pin = self.pin.needed(self.connection)
        if pin is not None and not pin.for_transaction and needs_own_transaction(query):
            # It cannot share a transaction block: a session-level SET of its own first.
            self._send(f"SET search_path = {pin.search_path}", None, None, None)
            return None
        return pin

    def _pinned(self, pin: Pin) -> None:
        if pin.for_transaction and self.pin is not None:
            self.pin.pinned = pin.search_path

    def _after(self, query: Query) -> None:
        if self.pin is not None and self.pin.pinned and _ROLLBACK_TO.match(_text(query)):
            self.pin.forget()

    @contextmanager
    def _pinned_block(self, pin: Pin) -> Iterator[None]:
        """Run the block after a ``SET LOCAL`` of its own, in its own transaction if need be."""
        if pin.for_transaction:
            self._send(set_local(pin.search_path), None, None, None)
            self._pinned(pin)
            yield
            return
        with self.connection.transaction():
            self._send(set_local(pin.search_path), None, None, None)
            yield
