from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from tenants import template
from tenants.spares import ready_spares, replenish_spares


class Command(BaseCommand):
    help = (
        "Build the template schema new tenants are cloned from when it is missing or older "
        'than the migrations, and keep SWITCHYARD["SPARE_SCHEMAS"] ready-made clones of it '
        "(run it after migrate_schemas, and from cron, so signups stay fast)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Rebuild even if up to date.")
        parser.add_argument(
            "--spares",
            type=int,
            default=None,
            help="Spares to keep (default: setting).",
        )

    def handle(self, *args: Any, force: bool, spares: int | None, **options: Any) -> None:
        name = template.template_schema()
        fingerprint = template.migrations_fingerprint()
        with transaction.atomic():
            if force:
                template.lock_template(exclusive=True)
                template.rebuild_template(name, fingerprint)
                action = "Rebuilt"
            elif template.stored_fingerprint(name) == fingerprint:
                action = "Up to date:"
            else:
                template.ensure_template()
                action = "Built"
            problems = template.unsupported_objects(name)
        self.stdout.write(f"{action} template schema {name} (migrations {fingerprint}).")
        if problems:
            self.stdout.write(
                self.style.WARNING(
                    "It holds objects cloning does not copy, so tenants will be created by "
                    "migrations: " + ", ".join(problems)
                )
            )
            return
        created = replenish_spares(spares)
        self.stdout.write(f"Spare schemas ready: {len(ready_spares())} ({len(created)} new).")
