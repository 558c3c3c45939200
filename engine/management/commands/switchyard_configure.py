"""``manage.py switchyard_configure payments stripe publishable_key=pk_... --tenant acme``:
store a strategy's configuration, validated exactly as the forms, the admin and the API do.

Secrets given as ``name=value`` end up in the shell's history and the process list: prefer
``--secret-from-env secret_key=STRIPE_SECRET``. Output shows secrets masked.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from conditions import Context
from conditions.naming import echo
from engine.exceptions import UnknownStrategy
from engine.management.base import REFUSED, SwitchyardCommand, usage_error, where
from engine.permissions import can_change_selections, refusal
from engine.tenancy import tenant_scope


class Command(SwitchyardCommand):
    help = (
        "Configure a strategy for a tenant (or, with --user, a user's own): NAME=VALUE pairs, "
        "validated by the strategy's Config; a secret left out keeps the stored one. Nothing "
        "is stored when it is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("registry", help="The registry key, e.g. payments.")
        parser.add_argument("slug", help="The strategy to configure, e.g. stripe.")
        parser.add_argument("values", nargs="*", metavar="NAME=VALUE", help="Field values.")
        parser.add_argument(
            "--secret-from-env",
            action="append",
            default=[],
            metavar="NAME=ENVVAR",
            help="Read field NAME from environment variable ENVVAR (keeps secrets off the "
            "command line).",
        )
        self.add_tenant_argument(parser)
        parser.add_argument("--user", metavar="USERNAME", help="Configure this user's own.")
        parser.add_argument(
            "--as", dest="actor", metavar="USERNAME", help="Act as this user of the tenant."
        )
        parser.add_argument("--select", action="store_true", help="Select the strategy too.")
        parser.add_argument("--clear", action="store_true", help="Remove the configuration.")
        parser.add_argument("--show", action="store_true", help="Show it (secrets masked).")

    def handle(self, *args: Any, **options: Any) -> None:
        registry = self.registry(options["registry"])
        slug = options["slug"]
        try:
            registry.get(slug)
        except UnknownStrategy as error:
            raise usage_error(str(error)) from None
        data = _pairs(options["values"], options["secret_from_env"])
        tenant = self.tenant(options["tenant"])
        with tenant_scope(tenant):
            user = self.user(options["user"], tenant)
            actor = self.user(options["actor"], tenant, option="--as")
            context = Context(tenant=tenant, user=actor)
            if actor is not None and user != actor and not can_change_selections(context):
                raise CommandError(f"Nothing was stored: {refusal(actor)}", returncode=REFUSED)
            owner = f"user {options['user']!r}" if user is not None else where(tenant)
            if not options["show"]:
                self._write(registry, slug, data, context, user, actor, options)
            configured = registry.configuration(
                slug, Context(tenant=tenant, user=user), tenant_level=user is None
            )
        shown = configured.values.masked(tails=True) if configured.values is not None else {}
        text = ", ".join(f"{name}={value}" for name, value in shown.items()) or "nothing stored"
        self.stdout.write(f"{registry.key}.{slug} for {owner}: {text}.")
        if configured.missing:
            self.stdout.write(f"Not available until configured: {', '.join(configured.missing)}.")

    def _write(
        self,
        registry: Any,
        slug: str,
        data: dict[str, str],
        context: Context,
        user: Any,
        actor: Any,
        options: dict[str, Any],
    ) -> None:
        try:
            if options["clear"]:
                registry.clear_configuration(slug, context, user, changed_by=actor, via="command")
            else:
                registry.configure(
                    slug,
                    data,
                    context,
                    user,
                    changed_by=actor,
                    via="command",
                    select=options["select"],
                )
        except ValidationError as error:
            raise CommandError(
                f"Nothing was stored: {_messages(error)}", returncode=REFUSED
            ) from None


def _pairs(values: list[str], from_env: list[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for pair in values:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise usage_error(f"{echo(pair)} is not NAME=VALUE.")
        data[name] = value
    for pair in from_env:
        name, sep, variable = pair.partition("=")
        if not sep or variable not in os.environ:
            raise usage_error(f"--secret-from-env {echo(pair)}: expected NAME=ENVVAR, set.")
        data[name] = os.environ[variable]
    return data


def _messages(error: ValidationError) -> str:
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    parts: list[str] = []
    for name, messages in error.message_dict.items():
        prefix = "" if name == "__all__" else f"{name}: "
        parts.extend(prefix + message for message in messages)
    return " ".join(parts)
