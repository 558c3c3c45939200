"""The template schema: a clone is identical to a schema built by migrations; staleness; locks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_exists

from tenants import spares, template
from tenants.provisioning import migrate_new_schema, provision_tenant

# Everything about a schema that migrations decide, as comparable rows.
CATALOG_QUERIES = {
    "tables": """
        SELECT table_name, table_type FROM information_schema.tables
         WHERE table_schema = %(schema)s ORDER BY 1""",
    # In order, but not ordinal_position: migrations leave the slots of dropped columns (e.g.
    # django_content_type.name) that a clone has no reason to recreate.
    "columns": """
        SELECT table_name, column_name, data_type, character_maximum_length,
               numeric_precision, numeric_scale, is_nullable, is_identity, identity_generation,
               identity_start, identity_increment, identity_maximum, identity_minimum,
               identity_cycle, is_generated, generation_expression, collation_name,
               replace(column_default, %(schema)s || '.', '')
          FROM information_schema.columns WHERE table_schema = %(schema)s
         ORDER BY table_name, ordinal_position""",
    "constraints": """
        SELECT c.relname, con.conname, con.contype, con.condeferrable, con.condeferred,
               con.convalidated, replace(pg_get_constraintdef(con.oid), %(schema)s || '.', '')
          FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
         WHERE con.connamespace = to_regnamespace(%(schema)s) ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename, indexname, replace(indexdef, ' ' || %(schema)s || '.', ' ')
          FROM pg_indexes WHERE schemaname = %(schema)s ORDER BY 1, 2""",
    "sequences": """
        SELECT sequencename, data_type, start_value, min_value, max_value, increment_by, cycle,
               cache_size, last_value
          FROM pg_sequences WHERE schemaname = %(schema)s ORDER BY 1""",
    "sequence owners": """
        SELECT s.relname, t.relname, a.attname, d.deptype
          FROM pg_class s JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
          JOIN pg_class t ON t.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
         WHERE s.relkind = 'S' AND s.relnamespace = to_regnamespace(%(schema)s) ORDER BY 1""",
    "relations": """
        SELECT relname, relkind, relpersistence, relhasindex, relchecks, relhastriggers
          FROM pg_class WHERE relnamespace = to_regnamespace(%(schema)s) ORDER BY 1""",
    "triggers": """
        SELECT c.relname, count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = to_regnamespace(%(schema)s) GROUP BY 1 ORDER BY 1""",
    "comments": """
        SELECT c.relname, d.objsubid, d.description FROM pg_description d
          JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
         WHERE c.relnamespace = to_regnamespace(%(schema)s) ORDER BY 1, 2""",
}


def describe(schema: str) -> dict[str, list[tuple[Any, ...]]]:
    with connection.cursor() as cursor:
        found = {}
        for name, sql in CATALOG_QUERIES.items():
            cursor.execute(sql, {"schema": schema})
            found[name] = cursor.fetchall()
        cursor.execute(f'SELECT id, app, name FROM "{schema}".django_migrations ORDER BY id')
        found["django_migrations"] = cursor.fetchall()
        cursor.execute(
            f"SELECT t.id, t.app_label, t.model, p.id, p.codename, p.name "
            f'FROM "{schema}".django_content_type t LEFT JOIN "{schema}".auth_permission p '
            "ON p.content_type_id = t.id ORDER BY 1, 4"
        )
        found["content types and permissions"] = cursor.fetchall()
    return found


@pytest.mark.parametrize("from_spare", [False, True], ids=["cloned", "renamed spare"])
def test_a_provisioned_schema_is_identical_to_one_built_by_migrations(
    db: None, from_spare: bool
) -> None:
    migrate_new_schema("built_by_migrations", template.template_schema())
    if from_spare:
        spares.replenish_spares(1)
    provision_tenant("cloned", name="Cloned", plan="free", domain="cloned.localhost")
    assert spares.ready_spares() == []
    migrated, cloned = describe("built_by_migrations"), describe("cloned")
    assert migrated["tables"], "the migrated schema has tables"
    assert len(migrated["django_migrations"]) > 10
    for aspect in CATALOG_QUERIES.keys() | {"django_migrations", "content types and permissions"}:
        assert cloned[aspect] == migrated[aspect], aspect


def test_the_template_is_stamped_with_the_migrations_fingerprint(db: None) -> None:
    name = template.ensure_template()
    assert name == "_switchyard_template"
    assert template.stored_fingerprint(name) == template.migrations_fingerprint()


def test_a_stale_template_is_rebuilt_before_cloning(db: None, caplog: Any) -> None:
    name = template.template_schema()
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA {name} IS 'switchyard template outdated'")
        cursor.execute(f"DROP TABLE {name}.engine_selection CASCADE")  # what an old template lacks
    with caplog.at_level(logging.INFO, logger="switchyard.tenants"):
        tenant = provision_tenant("hooli", name="Hooli", plan="pro", domain="hooli.localhost")
    assert "Rebuilding the tenant template schema" in caplog.text
    assert template.stored_fingerprint(name) == template.migrations_fingerprint()
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('hooli.engine_selection') IS NOT NULL")
        assert cursor.fetchone() == (True,)
    assert tenant.pk is not None


def test_the_fingerprint_changes_with_the_app_layout() -> None:
    template.migrations_fingerprint.cache_clear()
    try:
        before = template.migrations_fingerprint()
        template.migrations_fingerprint.cache_clear()
        with override_settings(TENANT_APPS=["django.contrib.contenttypes"]):
            assert template.migrations_fingerprint() != before
        template.migrations_fingerprint.cache_clear()
        assert template.migrations_fingerprint() == before  # stable for the same code
    finally:
        template.migrations_fingerprint.cache_clear()


def test_cloning_holds_the_templates_lock_until_the_transaction_ends(db: None) -> None:
    template.ensure_template()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT mode FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        modes = {row[0] for row in cursor.fetchall()}
    assert "ShareLock" in modes


def test_objects_the_clone_cannot_copy_fall_back_to_migrations(db: None, caplog: Any) -> None:
    name = template.ensure_template()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE VIEW {name}.recent_users AS SELECT id FROM {name}.auth_user")
    template._clone_scripts.clear()
    try:
        assert template.unsupported_objects(name) == ["view recent_users"]
        with pytest.raises(template.UnsupportedTemplate, match="view recent_users"):
            template.clone_script(name)
        with caplog.at_level(logging.WARNING, logger="switchyard.tenants"):
            tenant = provision_tenant("hooli", name="Hooli", plan="pro", domain="hooli.localhost")
        assert "creating schema hooli by migrations instead" in caplog.text
        assert schema_exists(tenant.schema_name)
        assert describe("hooli")["tables"] == describe("acme")["tables"]
    finally:
        template._clone_scripts.clear()  # the view is rolled back with the test


def test_the_clone_script_is_relative_to_search_path(db: None) -> None:
    script = template.clone_script(template.ensure_template())
    assert not any(
        "_switchyard_template.auth" in statement
        for statement in script.statements
        if not statement.startswith("INSERT")
    )
    sql = script.sql_for("some_tenant")
    assert sql.startswith('CREATE SCHEMA "some_tenant";\nSET LOCAL search_path = "some_tenant";')
