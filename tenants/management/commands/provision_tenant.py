from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conditions.naming import echo
from tenants.provisioning import provision_tenant
from tenants.validators import normalize_domain


class Command(BaseCommand):
    help = (
        "Create a tenant: its schema (cloned from the migrated template), primary domain, plan "
        "and initial selections. Nothing is created when anything is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema_name", help="Schema name: lowercase letters, digits, '_'.")
        parser.add_argument("--name", required=True, help="Display name of the tenant.")
        parser.add_argument("--plan", required=True, help='One of SWITCHYARD["PLANS"].')
        parser.add_argument("--domain", required=True, help="Primary host name.")
        parser.add_argument(
            "--select",
            action="append",
            default=[],
            metavar="REGISTRY=SLUG",
            help="An initial selection, validated for the new tenant (repeatable).",
        )
        parser.add_argument("--created-by", default="", help="Who asked for the tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        selections = dict(_selection(text) for text in options["select"])
        started = time.perf_counter()
        try:
            tenant = provision_tenant(
                options["schema_name"],
                name=options["name"],
                plan=options["plan"],
                domain=options["domain"],
                selections=selections,
                created_by=options["created_by"] or None,
            )
        except ValidationError as error:
            lines = (
                [
                    f"  {field}: {message}"
                    for field, messages in error.message_dict.items()
                    for message in messages
                ]
                if hasattr(error, "error_dict")
                else [f"  {message}" for message in error.messages]
            )
            raise CommandError("Nothing was created:\n" + "\n".join(lines)) from error
        elapsed = (time.perf_counter() - started) * 1000
        self.stdout.write(
            self.style.SUCCESS(
                f"Provisioned tenant {tenant.schema_name!r} ({tenant.name}, plan {tenant.plan}) "
                f"at {normalize_domain(options['domain'])} in {elapsed:.0f} ms."
            )
        )


def _selection(text: str) -> tuple[str, str]:
    key, separator, slug = text.partition("=")
    if not separator or not key or not slug:
        raise CommandError(f"--select {echo(text)}: expected REGISTRY=SLUG, e.g. payments=invoice")
    return key.strip(), slug.strip()
