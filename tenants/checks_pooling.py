"""System checks of ``tenants.postgresql_backend``, the backend safe behind transaction pooling.

``switchyard.E130``: a database alias on that backend has a setting that would let a
transaction-pooling PgBouncer run a statement on another client's server connection. The
backend refuses to connect with the same messages, so nothing depends on the checks running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

ENGINE = "tenants.postgresql_backend"


def pooling_problems(alias: str, settings_dict: Mapping[str, Any]) -> list[str]:
    """Return what in ``DATABASES[alias]`` the pinning backend cannot work with, if anything."""
    where = f'DATABASES["{alias}"]'
    options = settings_dict.get("OPTIONS") or {}
    problems = []
    if settings_dict.get("DISABLE_SERVER_SIDE_CURSORS") is not True:
        problems.append(
            f'{where} uses {ENGINE} with server-side cursors: set "DISABLE_SERVER_SIDE_CURSORS": '
            "True (a cursor declared in one transaction is gone, or another client's, in the next "
            "one behind a transaction pooler)."
        )
    if options.get("server_side_binding") is True:
        problems.append(
            f'{where} uses {ENGINE} with OPTIONS["server_side_binding"] = True: remove it (the '
            "backend sends the schema in the same message as each statement, which only "
            "client-side binding allows)."
        )
    if "cursor_factory" in options:
        problems.append(
            f'{where} uses {ENGINE} with OPTIONS["cursor_factory"]: remove it (the backend '
            "installs its own cursor, tenants.postgresql_backend.cursor.PinnedCursor)."
        )
    if options.get("assume_role"):
        problems.append(
            f'{where} uses {ENGINE} with OPTIONS["assume_role"]: remove it (a session-level '
            "SET ROLE does not follow the client across a transaction pooler's server "
            "connections)."
        )
    return problems


@register()
def check_pooling_backend(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Error]:
    """E130: every alias on ``tenants.postgresql_backend`` is configured for transaction pooling."""
    return [
        Error(problem, hint="See 'Behind PgBouncer' in docs/deployment.md.", id="switchyard.E130")
        for alias, settings_dict in settings.DATABASES.items()
        if settings_dict.get("ENGINE") == ENGINE
        for problem in pooling_problems(alias, settings_dict)
    ]
