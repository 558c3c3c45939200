"""``manage.py switchyard_rotate_secrets [--tenant SCHEMA ...]``: re-encrypt every stored
configuration secret with the first key of ``SWITCHYARD["SECRET_KEYS"]``.

Rotate keys in three steps: put the new key first (the old ones stay, so they still decrypt),
run this command, then remove the old keys. Values do not change, so no history is recorded;
each rewritten row invalidates its tenant's cached selections.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from engine import secrets, tenancy
from engine.management.base import REFUSED, SwitchyardCommand, tenant_name
from engine.models import StrategyConfiguration
from engine.tenancy import tenant_scope


class Command(SwitchyardCommand):
    help = (
        "Re-encrypt stored strategy secrets with the newest key (the first of "
        'SWITCHYARD["SECRET_KEYS"]); every configured key must still be listed.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        self.add_tenant_argument(parser, many=True)
        self.add_progress_argument(parser)
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Count what would be re-encrypted; store nothing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            secrets.fernet()
        except secrets.SecretError as error:
            raise CommandError(str(error), returncode=REFUSED) from None
        tenants = self.tenants(options["tenant"])
        rotated = failed = 0
        for tenant in self.progress(
            tenants, total=len(tenants), enabled=options["progress"], desc="rotating"
        ):
            with tenant_scope(tenant):
                done, broken = self._rotate(tenant, options["dry_run"])
            rotated += done
            for row in broken:
                failed += 1
                self.stderr.write(
                    f"{tenant_name(tenant)}: {row} has a secret no configured key decrypts."
                )
        verb = "Would re-encrypt" if options["dry_run"] else "Re-encrypted"
        self.stdout.write(f"{verb} {rotated} configuration(s) in {len(tenants)} schema(s).")
        if failed:
            raise CommandError(
                f"{failed} configuration(s) could not be decrypted: restore the key they were "
                'encrypted with to SWITCHYARD["SECRET_KEYS"] and run again.',
                returncode=REFUSED,
            )

    def _rotate(self, tenant: Any, dry_run: bool) -> tuple[int, list[StrategyConfiguration]]:
        rotated, broken = 0, []
        with transaction.atomic():
            # Behind a transaction-pooling PgBouncer the schema must hold for the transaction.
            tenancy.pin_search_path(tenancy.schema_of(tenant))
            for row in StrategyConfiguration.objects.select_for_update().exclude(secrets={}):
                if all(secrets.encrypted_with_first(token) for token in row.secrets.values()):
                    continue
                try:
                    tokens = {name: secrets.rotate(token) for name, token in row.secrets.items()}
                except secrets.SecretError:
                    broken.append(row)
                    continue
                rotated += 1
                if not dry_run:
                    row.secrets = tokens
                    row.save(update_fields=["secrets"])
        return rotated, broken
