"""``manage.py switchyard_list``: every registry and its strategies (for a tenant, with
what is available and in force)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from conditions import Context
from engine.explain import RegistryExplanation
from engine.management.base import SwitchyardCommand, where
from engine.registry import Registry, registries
from engine.resolution import condition_of
from engine.storage.reads import stored_selections
from engine.tenancy import tenant_scope, tenants_installed


class Command(SwitchyardCommand):
    help = (
        "List every registry and its strategies (slug, label, priority, condition). With "
        "--tenant (and --user), also which are available there and which one is in force "
        "(always, without django-tenants)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text")
        self.add_tenant_argument(parser)
        parser.add_argument(
            "--user", metavar="USERNAME", help="Judge availability for this user of the tenant."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = self.tenant(options["tenant"], required=options["user"] is not None)
        # Without django-tenants the one schema is the tenant: always say what is in force.
        scoped = tenant is not None or not tenants_installed()
        keyed = [registry for _, registry in sorted(registries().items())]
        with tenant_scope(tenant):
            user = self.user(options["user"], tenant)
            context = Context(tenant=tenant, user=user) if scoped else None
            entries = [self.entry(registry, context) for registry in keyed]
        if options["format"] == "json":
            self.stdout.write(json.dumps(entries, indent=2, ensure_ascii=False))
            return
        if context is not None:
            who = f", user {options['user']!r}" if user is not None else ", no user"
            self.stdout.write(self.style.MIGRATE_HEADING(f"In {where(tenant)}{who}:"))
        if not entries:
            self.stdout.write("No registries (nothing was discovered).")
        for entry in entries:
            self.write_text(entry)

    def entry(self, registry: type[Registry], context: Context | None) -> dict[str, Any]:
        """Return ``registry`` as a JSON-ready dict (with ``context``: availability, in force)."""
        entry: dict[str, Any] = {
            "key": registry.key,
            "label": str(registry.label),
            "description": str(registry.description),
            "default": list(registry.defaults()) if registry.multiple else registry.default,
            "user_selectable": registry.user_selectable,
            "multiple": registry.multiple,
            "mandatory": list(registry.mandatory) if registry.multiple else [],
            "strategies": [
                {
                    "slug": strategy.slug,
                    "label": str(strategy.label),
                    "priority": strategy.priority,
                    "condition": str(condition_of(strategy)),
                }
                for strategy in registry.strategies()
            ],
        }
        if context is None:
            return entry
        explanation: RegistryExplanation = registry.explain(context)
        stored = stored_selections(context)
        for item, explained in zip(entry["strategies"], explanation.strategies, strict=True):
            item["available"] = explained.available
            item["in_force"] = explained.in_force
        resolution = explanation.resolution
        entry["selection"] = {
            "tenant": stored.tenant_choice(registry.key),
            "user": stored.user_choice(registry.key) if registry.user_selectable else None,
        }
        entry["in_force"] = resolution.as_dict() if resolution is not None else None
        entry["error"] = str(explanation.error) if explanation.error is not None else None
        return entry

    def write_text(self, entry: dict[str, Any]) -> None:
        notes = _notes(entry)
        self.stdout.write(
            self.style.MIGRATE_HEADING(f"{entry['key']}")
            + f" — {entry['label']} ({', '.join(notes)})"
        )
        if entry.get("in_force"):
            self.stdout.write(
                f"  in force: {entry['in_force']['slug']} ({entry['in_force']['reason']})"
            )
        elif entry.get("error"):
            self.stdout.write(self.style.ERROR(f"  {entry['error']}"))
        if entry.get("selection", {}).get("tenant"):
            self.stdout.write(f"  tenant's selection: {entry['selection']['tenant']}")
        if entry.get("selection", {}).get("user"):
            self.stdout.write(f"  user's selection: {entry['selection']['user']}")
        width = max((len(s["slug"]) for s in entry["strategies"]), default=0)
        label_width = max((len(s["label"]) for s in entry["strategies"]), default=0)
        for strategy in entry["strategies"]:
            mark = ""
            if "available" in strategy:
                mark = "✓ " if strategy["available"] else "✗ "
            line = (
                f"  {mark}{strategy['slug']:<{width}}  {strategy['label']:<{label_width}}  "
                f"priority {strategy['priority']:<4} {strategy['condition']}"
            )
            if strategy.get("in_force"):
                line += "  [in force]"
            self.stdout.write(line.rstrip())
        if not entry["strategies"]:
            self.stdout.write("  (no strategies)")


def _notes(entry: dict[str, Any]) -> list[str]:
    """Return what the heading line says about a registry: default, per-user, set."""
    default = entry["default"]
    if isinstance(default, list):  # a registry holding a set
        default = ",".join(default)
    notes = [f"default {default}" if default else "no default"]
    if entry["user_selectable"]:
        notes.append("user-selectable")
    if entry["multiple"]:
        notes.append("a set")
    if entry["mandatory"]:
        notes.append(f"mandatory {','.join(entry['mandatory'])}")
    return notes
