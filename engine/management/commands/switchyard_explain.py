"""``manage.py switchyard_explain payments --tenant acme [--user alice]``: why each strategy
is or is not available, and which one is in force."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from conditions import Context
from engine.management.base import SwitchyardCommand, tenant_name, where
from engine.storage.reads import stored_selections
from engine.tenancy import tenant_scope


class Command(SwitchyardCommand):
    help = (
        "Explain a registry for a tenant (and a user): each strategy's condition evaluated, "
        "what the tenant and the user stored, and the strategy in force and why."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("registry", help="The registry key, e.g. payments.")
        self.add_tenant_argument(parser)
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Explain for this user of the tenant (default: no user, as background jobs).",
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        registry = self.registry(options["registry"])
        tenant = self.tenant(options["tenant"])
        with tenant_scope(tenant):
            user = self.user(options["user"], tenant)
            context = Context(tenant=tenant, user=user)
            explanation = registry.explain(context)
            stored = stored_selections(context)
        selection = {
            "tenant": stored.tenant_choice(registry.key),
            "user": stored.user_choice(registry.key) if user is not None else None,
        }
        if options["format"] == "json":
            data = {
                "tenant": tenant_name(tenant),
                "user": options["user"],
                "selection": selection,
                **explanation.as_dict(),
            }
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        who = f"user {options['user']!r}" if user is not None else "no user"
        self.stdout.write(self.style.MIGRATE_HEADING(f"In {where(tenant)}, {who}:"))
        stored_text = ", ".join(
            f"{owner}: {slug}" for owner, slug in selection.items() if slug is not None
        )
        self.stdout.write(f"stored: {stored_text or 'nothing'}")
        self.stdout.write(str(explanation))
