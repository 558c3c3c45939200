from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import get_tenant_model

from conditions.naming import suggestion
from tenants.reports import all_tenants, inactive_selections


class Command(BaseCommand):
    help = (
        "List, across all tenants, the stored selections that are not in force (a plan that "
        "no longer allows them, a removed strategy, ...) and why. They stay stored and come "
        "back when allowed again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--tenant", action="append", default=[], metavar="SCHEMA", help="Only these tenants."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = _tenants(options["tenant"]) if options["tenant"] else all_tenants()
        found = inactive_selections(tenants)
        if options["format"] == "json":
            self.stdout.write(json.dumps([item.as_dict() for item in found], indent=2))
            return
        if not found:
            self.stdout.write(f"Every stored selection is in force ({len(tenants)} tenants).")
            return
        current = None
        for item in found:
            if item.tenant != current:
                current = item.tenant
                self.stdout.write(self.style.MIGRATE_HEADING(f"{item.tenant}:"))
            self.stdout.write(f"  {item}")
        self.stdout.write(f"{len(found)} selection(s) not in force in {len(tenants)} tenants.")


def _tenants(schema_names: list[str]) -> list[Any]:
    manager = get_tenant_model()._default_manager
    tenants = {
        tenant.schema_name: tenant for tenant in manager.filter(schema_name__in=schema_names)
    }
    for name in schema_names:
        if name not in tenants:
            known = manager.values_list("schema_name", flat=True)
            raise CommandError(f"No tenant has the schema name {name!r}.{suggestion(name, known)}")
    return [tenants[name] for name in schema_names]
