"""A django-tenants database backend that is safe behind a transaction-pooling PgBouncer.

``DATABASES["default"]["ENGINE"] = "tenants.postgresql_backend"`` with
``"DISABLE_SERVER_SIDE_CURSORS": True``. Each statement carries the tenant's schema as
``SET LOCAL search_path`` in the same message (``cursor.PinnedCursor``), so it runs in the
right schema whichever server connection the pooler gives it. See "Behind PgBouncer" in
docs/deployment.md.
"""
