"""Spare schemas: template clones made ahead of time, so provisioning renames one in place.

Cloning costs about a millisecond per relation on these machines (a file and catalog rows
each), some 50 ms for the example site's ~100 tables, indexes and sequences. Renaming a
ready clone is one catalog update. ``replenish_spares()`` — run by
``manage.py switchyard_template`` after a deploy and from cron — keeps
``SWITCHYARD["SPARE_SCHEMAS"]`` clones of the current template; ``provision_tenant`` claims
one when there is one, and clones on the spot otherwise. Each spare is stamped with the
template's fingerprint: a spare of an older template is never claimed, and the next
replenish drops it.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import ProgrammingError, transaction
from django.db import connection as default_connection

from engine.conf import settings
from tenants.template import clone_template, ensure_template, migrations_fingerprint, quote

# django-tenants' connection adds schema_name, tenant and set_tenant().
connection: Any = default_connection

SPARE_PREFIX = "_switchyard_spare_"
COMMENT_PREFIX = "switchyard spare "
# First key of the per-spare advisory locks (the second is the spare's hashed name).
LOCK_SPACE = 0x5359


def ready_spares(fingerprint: str | None = None) -> list[str]:
    """Return the spares of the template with ``fingerprint`` (default: the current one)."""
    stamp = COMMENT_PREFIX + (fingerprint or migrations_fingerprint())
    return [name for name, comment in _spares() if comment == stamp]


def claim_spare(schema_name: str) -> bool:
    """Rename a ready spare to ``schema_name``; False when there is none to take.

    Call inside the provisioning transaction, after ``ensure_template()``: the spare's lock
    and the rename last until it ends, so two provisionings never take the same spare, and a
    rollback puts the spare back.
    """
    for spare in ready_spares():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_try_advisory_xact_lock(%s, hashtext(%s)) "
                "AND EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)",
                [LOCK_SPACE, spare, spare],
            )
            (ours,) = cursor.fetchone()
        if not ours:  # being claimed, or claimed and committed since we listed it
            continue
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"ALTER SCHEMA {quote(spare)} RENAME TO {quote(schema_name)}")
                cursor.execute(f"COMMENT ON SCHEMA {quote(schema_name)} IS NULL")
        except ProgrammingError:  # taken by a provisioning that committed a moment ago
            continue
        return True
    return False


def replenish_spares(count: int | None = None) -> list[str]:
    """Drop spares of older templates and clone new ones up to ``count``; return the new names.

    ``count`` defaults to ``SWITCHYARD["SPARE_SCHEMAS"]``. Each spare is made in its own
    transaction (outside an atomic block, each one commits as soon as it is ready).
    """
    wanted = int(settings.SPARE_SCHEMAS if count is None else count)
    with transaction.atomic():
        ensure_template()
        current = COMMENT_PREFIX + migrations_fingerprint()
        for name, comment in _spares():
            if comment != current and _try_lock(name):
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP SCHEMA {quote(name)} CASCADE")
        missing = wanted - len(ready_spares())
    created = []
    for _ in range(missing):
        name = SPARE_PREFIX + secrets.token_hex(6)
        with transaction.atomic():
            ensure_template()
            clone_template(name)
            with connection.cursor() as cursor:
                cursor.execute(f"COMMENT ON SCHEMA {quote(name)} IS %s", [current])
        created.append(name)
    return created


def _spares() -> list[tuple[str, str | None]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname::text, obj_description(oid, 'pg_namespace') FROM pg_namespace "
            "WHERE starts_with(nspname, %s) ORDER BY nspname",
            [SPARE_PREFIX],
        )
        return list(cursor.fetchall())


def _try_lock(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [LOCK_SPACE, name])
        return bool(cursor.fetchone()[0])
