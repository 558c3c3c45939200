from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conditions.naming import echo
from tenants.provisioning import provision_tenant
from tenants.tenant_model import plan_or_none, tenant_name
from tenants.validators import normalize_domain


class Command(BaseCommand):
    help = (
        "Create a tenant: its schema (cloned from the migrated template), primary domain, plan "
        "and initial selections. Nothing is created when anything is wrong."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema_name", help="Schema name: lowercase letters, digits, '_'.")
        parser.add_argument("--name", help="Display name of the tenant (its name field).")
        parser.add_argument(
            "--plan",
            help='One of SWITCHYARD["PLANS"], stored in the field SWITCHYARD["TENANT_PLAN"] names.',
        )
        parser.add_argument("--domain", required=True, help="Primary host name.")
        parser.add_argument(
            "--select",
            action="append",
            default=[],
            metavar="REGISTRY=SLUG",
            help="An initial selection, validated for the new tenant (repeatable).",
        )
        parser.add_argument(
            "--field",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="Another field of your tenant model, validated by the model (repeatable).",
        )
        parser.add_argument("--created-by", default="", help="Who asked for the tenant.")

    def handle(self, *args: Any, **options: Any) -> None:
        selections = dict(_pair(text, "--select", "payments=invoice") for text in options["select"])
        fields = dict(_pair(text, "--field", "region=eu") for text in options["field"])
        for option in ("name", "plan"):
            if options[option] is not None:
                fields[option] = options[option]
        started = time.perf_counter()
        try:
            tenant = provision_tenant(
                options["schema_name"],
                domain=options["domain"],
                selections=selections,
                created_by=options["created_by"] or None,
                **fields,
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
                f"Provisioned tenant {tenant.schema_name!r} ({tenant_name(tenant)}, "
                f"plan {plan_or_none(tenant)}) "
                f"at {normalize_domain(options['domain'])} in {elapsed:.0f} ms."
            )
        )


def _pair(text: str, option: str, example: str) -> tuple[str, str]:
    key, separator, value = text.partition("=")
    if not separator or not key or not value:
        expected = "REGISTRY=SLUG" if option == "--select" else "FIELD=VALUE"
        raise CommandError(f"{option} {echo(text)}: expected {expected}, e.g. {example}")
    return key.strip(), value.strip()
