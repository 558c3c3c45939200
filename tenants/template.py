"""The migrated template schema new tenants are cloned from, and the SQL that clones it.

Creating a schema by running migrations costs 150-450 ms; copying an already-migrated one
costs a few. So provisioning keeps one schema (``SWITCHYARD["TEMPLATE_SCHEMA"]``) migrated
like a tenant and stamped (``COMMENT ON SCHEMA``) with a fingerprint of the migrations on
disk; when the fingerprint changes the template is rebuilt by migrations.

Cloning runs one SQL script, generated from the template's catalog once per process:
sequences, tables (columns, types, collations, defaults, identity and generated columns),
the template's rows (``django_migrations``, content types, permissions), sequence positions,
constraints and indexes under their own names, foreign keys, and comments. Statements are
written relative to ``search_path`` so the same script builds any schema. A template holding
anything else (views, functions, types, triggers, policies, partitioned tables...) is
reported by ``unsupported_objects()``, and provisioning falls back to migrations.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection as default_connection
from django.db.migrations.loader import MigrationLoader

from engine.conf import settings

# django-tenants' connection adds schema_name, tenant and set_tenant().
connection: Any = default_connection

logger = logging.getLogger("switchyard.tenants")

COMMENT_PREFIX = "switchyard template "
# pg_advisory_xact_lock key shared by everything that rebuilds or clones the template.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"switchyard.tenants.template").digest()[:7], "big")


def template_schema() -> str:
    """Return the name of the template schema (``SWITCHYARD["TEMPLATE_SCHEMA"]``)."""
    return str(settings.TEMPLATE_SCHEMA)


def quote(name: str) -> str:
    """Return ``name`` quoted as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


@cache
def migrations_fingerprint() -> str:
    """Return a hash of every migration on disk (names and source) and the app layout."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256()
    digest.update(repr(sorted(django_settings.INSTALLED_APPS)).encode())
    digest.update(repr(sorted(getattr(django_settings, "TENANT_APPS", []))).encode())
    for key in sorted(loader.disk_migrations):
        migration = loader.disk_migrations[key]
        digest.update(f"{key[0]}.{key[1]}\n".encode())
        # Without source (e.g. compiled only) the migration's name must do.
        with contextlib.suppress(OSError, TypeError):
            digest.update(inspect.getsource(inspect.getmodule(migration)).encode())  # type: ignore[arg-type]
    return digest.hexdigest()[:32]


def stored_fingerprint(schema_name: str) -> str | None:
    """Return the fingerprint a template schema was stamped with, or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = %s",
            [schema_name],
        )
        row = cursor.fetchone()
    return _stamp(row[0] if row else None)


def _stamp(comment: str | None) -> str | None:
    if not comment or not comment.startswith(COMMENT_PREFIX):
        return None
    return str(comment[len(COMMENT_PREFIX) :])


def lock_template(*, exclusive: bool) -> None:
    """Take the template's advisory lock until the end of the current transaction."""
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])


def ensure_template() -> str:
    """Make sure the template schema matches the migrations on disk; return its name.

    Call inside a transaction: it holds the template's advisory lock (shared, or exclusive
    while rebuilding) until that transaction ends, so nobody clones a half-built template.
    """
    name = template_schema()
    fingerprint = migrations_fingerprint()
    if _lock_and_read_stamp(name) != fingerprint:
        lock_template(exclusive=True)
        if stored_fingerprint(name) != fingerprint:  # another process may have rebuilt it
            rebuild_template(name, fingerprint)
    return name


def _lock_and_read_stamp(name: str) -> str | None:
    # The usual case in one round trip: take the shared lock and read the stamp.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT obj_description(n.oid, 'pg_namespace') "
            "FROM (SELECT pg_advisory_xact_lock_shared(%s)) AS locked "
            "LEFT JOIN pg_namespace n ON n.nspname = %s",
            [LOCK_KEY, name],
        )
        row = cursor.fetchone()
    return _stamp(row[0] if row else None)


def rebuild_template(name: str, fingerprint: str) -> None:
    """Drop and re-create the template schema by running every tenant migration into it."""
    logger.info("Rebuilding the tenant template schema %s (migrations changed)", name)
    previous = connection.tenant
    # Fire deferred constraint checks now: PostgreSQL refuses to drop tables with pending
    # trigger events (a template built earlier in this same transaction has some).
    connection.check_constraints()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA IF EXISTS {quote(name)} CASCADE")
        cursor.execute(f"CREATE SCHEMA {quote(name)}")
    try:
        call_command(
            "migrate_schemas", tenant=True, schema_name=name, interactive=False, verbosity=0
        )
    finally:
        connection.set_tenant(previous)
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA {quote(name)} IS %s", [COMMENT_PREFIX + fingerprint])
    _clone_scripts.clear()


@dataclass(frozen=True)
class CloneScript:
    """The statements that rebuild the template's contents in the schema on ``search_path``."""

    template: str
    fingerprint: str
    statements: tuple[str, ...]

    def sql_for(self, schema_name: str) -> str:
        """Return the whole script creating and filling ``schema_name``."""
        head = (
            f"CREATE SCHEMA {quote(schema_name)}",
            f"SET LOCAL search_path = {quote(schema_name)}",
        )
        return ";\n".join((*head, *self.statements)) + ";"


_clone_scripts: dict[tuple[str, str], CloneScript] = {}


def clone_script(name: str) -> CloneScript:
    """Return the clone script of template ``name`` (generated once per process and stamp).

    Call after ``ensure_template()``, which made the template's stamp the current fingerprint.
    """
    fingerprint = migrations_fingerprint()
    key = (name, fingerprint)
    if key not in _clone_scripts:
        _clone_scripts[key] = CloneScript(name, fingerprint, tuple(_generate(name)))
    return _clone_scripts[key]


def clone_template(schema_name: str) -> None:
    """Create ``schema_name`` as a copy of the (up-to-date, locked) template schema."""
    script = clone_script(template_schema())
    previous = connection.tenant
    try:
        with connection.cursor() as cursor:
            cursor.execute(script.sql_for(schema_name))
    finally:
        # The script moved search_path; make django-tenants set it again before the next query.
        connection.set_tenant(previous)


class UnsupportedTemplate(Exception):
    """The template schema holds objects the clone script does not copy."""


def unsupported_objects(name: str) -> list[str]:
    """Return a description of each object in schema ``name`` that cloning would not copy."""
    with connection.cursor() as cursor:
        cursor.execute(_UNSUPPORTED_SQL, {"schema": name})
        return [f"{kind} {object_name}" for kind, object_name in cursor.fetchall()]


_UNSUPPORTED_SQL = """
SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
       WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table'
       WHEN 'c' THEN 'composite type' ELSE 'relation' END, c.relname::text
  FROM pg_class c
 WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind IN ('v', 'm', 'p', 'f', 'c')
UNION ALL
SELECT 'partition', c.relname::text FROM pg_class c
 WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relispartition
UNION ALL
SELECT 'type', t.typname::text FROM pg_type t
 WHERE t.typnamespace = to_regnamespace(%(schema)s) AND t.typtype IN ('e', 'd', 'r', 'm', 'b')
   AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)
UNION ALL
SELECT 'function', p.proname::text FROM pg_proc p WHERE p.pronamespace = to_regnamespace(%(schema)s)
UNION ALL
SELECT 'trigger', t.tgname::text FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = to_regnamespace(%(schema)s) AND NOT t.tgisinternal
UNION ALL
SELECT 'policy', p.polname::text FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = to_regnamespace(%(schema)s)
UNION ALL
SELECT 'rule', r.rulename::text FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
 WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind = 'r'
UNION ALL
SELECT 'inheritance', c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE c.relnamespace = to_regnamespace(%(schema)s)
UNION ALL
SELECT 'constraint trigger', con.conname::text FROM pg_constraint con
 WHERE con.connamespace = to_regnamespace(%(schema)s) AND con.contype = 't'
ORDER BY 1, 2
"""


@contextmanager
def _search_path(schema_name: str) -> Iterator[Any]:
    """Yield a cursor whose search_path is only ``schema_name`` (so names print unqualified)."""
    previous = connection.tenant
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL search_path = {quote(schema_name)}")
            yield cursor
    finally:
        connection.set_tenant(previous)


def _generate(name: str) -> Iterator[str]:
    problems = unsupported_objects(name)
    if problems:
        raise UnsupportedTemplate(
            f"The template schema {name!r} holds objects that cloning does not copy: "
            + ", ".join(problems)
        )
    with _search_path(name) as cursor:
        yield from _statements(cursor, name)


def _rows(cursor: Any, sql: str, schema: str) -> list[tuple[Any, ...]]:
    cursor.execute(sql, {"schema": schema})
    return list(cursor.fetchall())


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sequence_options(seq: tuple[Any, ...]) -> str:
    _name, _type, start, increment, minimum, maximum, cache_size, cycle = seq[:8]
    return (
        f" START WITH {start} INCREMENT BY {increment} MINVALUE {minimum} MAXVALUE {maximum}"
        f" CACHE {cache_size} {'CYCLE' if cycle else 'NO CYCLE'}"
    )


@dataclass(frozen=True)
class _Column:
    name: str
    generated: bool  # GENERATED ALWAYS AS (...) STORED: never copied
    always_identity: bool  # GENERATED ALWAYS AS IDENTITY: copied with OVERRIDING SYSTEM VALUE


def _statements(cursor: Any, schema: str) -> Iterator[str]:
    sequences = _rows(cursor, _SEQUENCES_SQL, schema)
    standalone = [seq for seq in sequences if seq[8] is None]
    identity = {(seq[8], seq[9]): seq for seq in sequences if seq[8] is not None}
    for seq in standalone:
        yield f"CREATE SEQUENCE {quote(seq[0])} AS {seq[1]}{_sequence_options(seq)}"
    definitions, columns = _column_definitions(cursor, schema, identity)
    constraints = _rows(cursor, _CONSTRAINTS_SQL, schema)
    # Keys, unique, exclusion and check constraints go inside CREATE TABLE (much cheaper than
    # one ALTER TABLE each); foreign keys are added once every table and row exists.
    for table, constraint, kind, definition in constraints:
        if kind != "f":
            definitions.setdefault(table, []).append(f"CONSTRAINT {quote(constraint)} {definition}")
    tables = _rows(cursor, _TABLES_SQL, schema)
    for table, persistence in tables:
        unlogged = "UNLOGGED " if persistence == "u" else ""
        body = ",\n  ".join(definitions.get(table, []))
        yield f"CREATE {unlogged}TABLE {quote(table)} (\n  {body}\n)"
    for seq in standalone:
        if seq[10] is not None:
            yield f"ALTER SEQUENCE {quote(seq[0])} OWNED BY {quote(seq[10])}.{quote(seq[11])}"
    yield from _copy_rows(cursor, schema, [table for table, _ in tables], columns, sequences)
    yield from _indexes(cursor, schema)
    for table, constraint, kind, definition in constraints:
        if kind == "f":
            yield f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} {definition}"
    for kind, table, column, text in _rows(cursor, _COMMENTS_SQL, schema):
        target = f"{quote(table)}.{quote(column)}" if column else quote(table)
        yield f"COMMENT ON {kind} {target} IS {_literal(text)}"


def _column_definitions(
    cursor: Any, schema: str, identity: dict[tuple[Any, Any], Any]
) -> tuple[dict[str, list[str]], dict[str, list[_Column]]]:
    """Return each table's column definitions (for CREATE TABLE) and its columns."""
    definitions: dict[str, list[str]] = {}
    columns: dict[str, list[_Column]] = {}
    for table, column, column_type, collation, not_null, default, ident, generated in _rows(
        cursor, _COLUMNS_SQL, schema
    ):
        parts = [quote(column), column_type]
        if collation:
            parts.append(f"COLLATE {collation}")
        parts.extend(_value_clauses(table, column, default, ident, generated, identity))
        if not_null:
            parts.append("NOT NULL")
        definitions.setdefault(table, []).append(" ".join(parts))
        columns.setdefault(table, []).append(_Column(column, generated == "s", ident == "a"))
    return definitions, columns


def _value_clauses(
    table: str,
    column: str,
    default: str | None,
    ident: str,
    generated: str,
    identity: dict[tuple[Any, Any], Any],
) -> list[str]:
    """Return the column's GENERATED, IDENTITY or DEFAULT clause (or none)."""
    if generated == "s":
        return [f"GENERATED ALWAYS AS ({default}) STORED"]
    if ident:
        seq = identity[(table, column)]
        kind = "ALWAYS" if ident == "a" else "BY DEFAULT"
        options = f"SEQUENCE NAME {quote(seq[0])}{_sequence_options(seq)}"
        return [f"GENERATED {kind} AS IDENTITY ({options})"]
    if default is not None:
        return [f"DEFAULT {default}"]
    return []


def _copy_rows(
    cursor: Any,
    schema: str,
    tables: list[str],
    columns: dict[str, list[_Column]],
    sequences: list[Any],
) -> Iterator[str]:
    """The template's rows (migrations, content types, permissions, ...) and sequences."""
    for table in _non_empty_tables(cursor, schema, tables):
        copied = [column for column in columns.get(table, []) if not column.generated]
        names = ", ".join(quote(column.name) for column in copied)
        overriding = " OVERRIDING SYSTEM VALUE" if any(c.always_identity for c in copied) else ""
        yield (
            f"INSERT INTO {quote(table)} ({names}){overriding} "
            f"SELECT {names} FROM {quote(schema)}.{quote(table)}"
        )
    # A sequence the template never used is as CREATE left it; the others, in one statement.
    used = [seq for seq in sequences if seq[12] is not None]
    if used:
        positions = ", ".join(f"setval({_literal(quote(seq[0]))}, {seq[12]}, true)" for seq in used)
        yield f"SELECT {positions}"


def _indexes(cursor: Any, schema: str) -> Iterator[str]:
    # pg_get_indexdef always qualifies the table: make it relative to search_path.
    cursor.execute("SELECT quote_ident(%s)", [schema])
    qualified = cursor.fetchone()[0] + "."
    for (definition,) in _rows(cursor, _INDEXES_SQL, schema):
        yield definition.replace(f" ON ONLY {qualified}", " ON ONLY ").replace(
            f" ON {qualified}", " ON "
        )


def _non_empty_tables(cursor: Any, schema: str, tables: list[str]) -> list[str]:
    if not tables:
        return []
    sql = " UNION ALL ".join(
        f"SELECT %s::text WHERE EXISTS (SELECT 1 FROM {quote(schema)}.{quote(table)})"
        for table in tables
    )
    cursor.execute(sql, tables)
    return [row[0] for row in cursor.fetchall()]


_SEQUENCES_SQL = """
SELECT s.relname::text, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin,
       q.seqmax, q.seqcache, q.seqcycle, it.relname::text, ia.attname::text, ot.relname::text,
       oa.attname::text, ps.last_value
  FROM pg_class s
  JOIN pg_sequence q ON q.seqrelid = s.oid
  JOIN pg_sequences ps ON ps.schemaname = %(schema)s AND ps.sequencename = s.relname
  LEFT JOIN pg_depend di ON di.classid = 'pg_class'::regclass AND di.objid = s.oid
       AND di.refclassid = 'pg_class'::regclass AND di.deptype = 'i'
  LEFT JOIN pg_class it ON it.oid = di.refobjid
  LEFT JOIN pg_attribute ia ON ia.attrelid = di.refobjid AND ia.attnum = di.refobjsubid
  LEFT JOIN pg_depend da ON da.classid = 'pg_class'::regclass AND da.objid = s.oid
       AND da.refclassid = 'pg_class'::regclass AND da.deptype = 'a'
  LEFT JOIN pg_class ot ON ot.oid = da.refobjid
  LEFT JOIN pg_attribute oa ON oa.attrelid = da.refobjid AND oa.attnum = da.refobjsubid
 WHERE s.relnamespace = to_regnamespace(%(schema)s) AND s.relkind = 'S'
 ORDER BY s.relname
"""

_COLUMNS_SQL = """
SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
            THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind = 'r'
   AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY c.relname, a.attnum
"""

_TABLES_SQL = """
SELECT relname::text, relpersistence::text FROM pg_class
 WHERE relnamespace = to_regnamespace(%(schema)s) AND relkind = 'r'
 ORDER BY relname
"""

_CONSTRAINTS_SQL = """
SELECT c.relname::text, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
 WHERE con.connamespace = to_regnamespace(%(schema)s) AND con.contype IN ('p', 'u', 'x', 'c', 'f')
 ORDER BY c.relname, con.conname
"""

_INDEXES_SQL = """
SELECT pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
 WHERE ic.relnamespace = to_regnamespace(%(schema)s)
   AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                   AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
 ORDER BY ic.relname
"""

_COMMENTS_SQL = """
SELECT CASE WHEN d.objsubid = 0 THEN 'TABLE' ELSE 'COLUMN' END, c.relname::text,
       a.attname::text, d.description
  FROM pg_description d
  JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
  LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.objsubid AND d.objsubid > 0
 WHERE c.relnamespace = to_regnamespace(%(schema)s) AND c.relkind = 'r'
 ORDER BY 2, 3 NULLS FIRST
"""
