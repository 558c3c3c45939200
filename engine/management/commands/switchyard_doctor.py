"""``manage.py switchyard_doctor``: scan every tenant's stored selections for problems."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from engine.management.base import REFUSED, SwitchyardCommand, tenant_name
from engine.management.doctor import Report, Severity, examine


class Command(SwitchyardCommand):
    help = (
        "Scan every tenant's stored selections. Errors (exit status 1): a selection of an "
        "unknown registry or strategy. Warnings (failing only with --strict): a selection not "
        "in force, a per-user selection of a registry that does not allow them, a registry "
        "with nothing available to the tenant."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        self.add_tenant_argument(parser, many=True)
        parser.add_argument(
            "--strict", action="store_true", help="Fail on warnings too (exit status 1)."
        )
        self.add_progress_argument(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = self.tenants(options["tenant"])
        report = Report()
        for tenant in self.progress(
            tenants, total=len(tenants), enabled=options["progress"], desc="Examining tenants"
        ):
            examine(tenant, tenant_name(tenant), report)
        strict = options["strict"]
        if options["format"] == "json":
            self.stdout.write(json.dumps(report.as_dict(strict=strict), indent=2))
        else:
            self.write_text(report)
        if report.failed(strict=strict):
            counted = f"{report.errors} error(s)"
            if strict:
                counted += f" and {report.warnings} warning(s) (--strict)"
            raise CommandError(f"switchyard_doctor found {counted}.", returncode=REFUSED)

    def write_text(self, report: Report) -> None:
        current = None
        for finding in report.findings:
            if finding.tenant != current:
                current = finding.tenant
                self.stdout.write(self.style.MIGRATE_HEADING(f"{finding.tenant}:"))
            style = self.style.ERROR if finding.severity is Severity.ERROR else self.style.WARNING
            instead = f" In force: {finding.in_force}." if finding.in_force else ""
            self.stdout.write(
                f"  {style(finding.severity.value.upper())} {finding.code}: {finding.subject()}: "
                f"{finding.message}{instead}"
            )
        summary = report.summary()
        self.stdout.write(self.style.SUCCESS(summary) if not report.findings else summary)
