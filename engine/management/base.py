"""What the ``switchyard_*`` commands share: tenants by schema name, users, progress, exits.

Exit statuses: 0 done; 1 refused or found problems (a selection that may not be made,
``switchyard_doctor`` errors); 2 invoked wrongly (an unknown tenant, user or registry, a
missing ``--tenant``), like argparse's own usage errors.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conditions.naming import echo, suggestion
from engine import tenancy
from engine.exceptions import UnknownRegistry
from engine.registry import Registry, get_registry
from engine.tenancy import PLAIN_SCHEMA, tenants_installed
from engine.validators import CONTROL_CHARACTERS

T = TypeVar("T")

REFUSED = 1
USAGE = 2


def usage_error(message: str) -> CommandError:
    """Return a ``CommandError`` that exits with status 2 (the command was invoked wrongly)."""
    return CommandError(message, returncode=USAGE)


class SwitchyardCommand(BaseCommand):
    """A command that works in one tenant's schema (``--tenant SCHEMA``) or across tenants."""

    def add_tenant_argument(self, parser: CommandParser, *, many: bool = False) -> None:
        """Add ``--tenant SCHEMA`` (repeatable when ``many``); meaningful under django-tenants."""
        if many:
            parser.add_argument(
                "--tenant",
                action="append",
                default=[],
                metavar="SCHEMA",
                help="Only this tenant (repeat for several); default: every tenant.",
            )
        else:
            parser.add_argument(
                "--tenant",
                metavar="SCHEMA",
                help="The tenant's schema name (required under django-tenants).",
            )

    def add_progress_argument(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--progress",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Show a progress bar on stderr (default: when stderr is a terminal).",
        )

    def tenant(self, schema: str | None, *, required: bool = True) -> Any:
        """Return the tenant whose schema is ``schema`` (None without django-tenants)."""
        if not tenants_installed():
            if schema is not None:
                raise usage_error(
                    f"--tenant {schema!r}: django-tenants is not installed, so there is only "
                    "one schema; leave --tenant out."
                )
            return None
        model = tenancy.tenant_model()
        if schema is None:
            if not required:
                return None
            raise usage_error(
                f"--tenant is required under django-tenants; choose one of: {_schemas(model)}."
            )
        _refuse_control_characters("--tenant", schema)
        try:
            return model.objects.get(schema_name=schema)
        except model.DoesNotExist:
            names = list(model.objects.values_list("schema_name", flat=True))
            raise usage_error(
                f"No tenant has the schema name {echo(schema)}.{suggestion(schema, names)} "
                f"Tenants: {_schemas(model)}."
            ) from None

    def tenants(self, schemas: list[str]) -> list[Any]:
        """Return the tenants named by ``schemas`` (all, by schema name, when empty).

        Without django-tenants: ``[None]``, the one schema there is.
        """
        if not tenants_installed():
            for schema in schemas:
                self.tenant(schema)  # raises: there are no tenants to choose from
            return [None]
        if schemas:
            return [self.tenant(schema) for schema in dict.fromkeys(schemas)]
        return list(tenancy.tenant_model().objects.order_by("schema_name"))

    def user(self, username: str | None, tenant: Any, *, option: str = "--user") -> Any:
        """Return the user ``username`` of ``tenant``'s schema, where the connection is now."""
        if username is None:
            return None
        model = get_user_model()
        _refuse_control_characters(option, username)
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            names = model._default_manager.values_list(model.USERNAME_FIELD, flat=True)
            raise usage_error(
                f"{option} {echo(username)}: no such user in {where(tenant)}."
                f"{suggestion(username, names)}"
            ) from None

    def registry(self, key: str) -> type[Registry]:
        """Return the registry ``key``; a usage error naming the closest key if unknown."""
        try:
            return get_registry(key)
        except UnknownRegistry as error:
            raise usage_error(str(error)) from None

    def progress(
        self, items: Iterable[T], *, total: int, enabled: bool | None, desc: str
    ) -> Iterator[T]:
        """Iterate ``items`` with a tqdm progress bar on stderr (auto: when it is a terminal)."""
        from tqdm import tqdm

        stream = getattr(self.stderr, "_out", self.stderr)
        if enabled is None:
            enabled = self.stderr.isatty()
        # The raw stream: Django's OutputWrapper would end every redraw with a newline.
        yield from tqdm(
            items, total=total, desc=desc, unit="tenant", file=stream, disable=not enabled
        )


def _refuse_control_characters(option: str, value: str) -> None:
    # No schema or user name holds them, and PostgreSQL refuses NUL with a DataError.
    if CONTROL_CHARACTERS.search(value):
        raise usage_error(f"{option} {echo(value)}: contains control characters.")


def where(tenant: Any) -> str:
    """Return how messages name ``tenant`` ("tenant 'acme'", or the one schema)."""
    return f"schema {PLAIN_SCHEMA!r}" if tenant is None else f"tenant {tenant.schema_name!r}"


def tenant_name(tenant: Any) -> str:
    """Return the schema name of ``tenant`` (the plain schema for None)."""
    return PLAIN_SCHEMA if tenant is None else str(tenant.schema_name)


def _schemas(model: Any) -> str:
    names = list(model.objects.order_by("schema_name").values_list("schema_name", flat=True))
    return ", ".join(names) or "none"
