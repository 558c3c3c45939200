"""``manage.py switchyard_select payments invoice --tenant acme [--user U] [--as U]``: store a
selection, validated exactly as the forms, the admin and the API validate it.

``payments=invoice`` is the same; a registry holding a set takes its slugs joined by commas,
in order: ``notifications=email,slack``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from conditions import Context
from engine import sets
from engine.exceptions import NoStrategyAvailable
from engine.management.base import REFUSED, SwitchyardCommand, usage_error, where
from engine.models import Selection
from engine.permissions import can_change_selections, refusal
from engine.registry import Registry
from engine.set_resolution import AnyResolution
from engine.storage.writes import validate_set
from engine.tenancy import tenant_scope


class Command(SwitchyardCommand):
    help = (
        "Select a strategy for a tenant (or, with --user, a user's own choice). The strategy "
        "must be available: to the tenant with no user, or to the --as user, whose change it "
        "is recorded as. Nothing is stored when it is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "registry",
            help="The registry key, e.g. payments; or key=slug, e.g. notifications=email,slack.",
        )
        parser.add_argument(
            "slug",
            nargs="?",
            help="The strategy to select, e.g. invoice; for a set, slugs joined by commas.",
        )
        self.add_tenant_argument(parser)
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help="Store this user's own choice (user-selectable registries only).",
        )
        parser.add_argument(
            "--as",
            dest="actor",
            metavar="USERNAME",
            help="Act as this user of the tenant: conditions are judged for them, and the "
            "history records them as the author.",
        )
        parser.add_argument(
            "--clear", action="store_true", help="Remove the stored choice instead (fall back)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and report; store nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key, slug, clear = options["registry"], options["slug"], options["clear"]
        if "=" in key and slug is None:
            key, slug = key.split("=", 1)
        if (slug is None) == (not clear):
            raise usage_error("Give either a strategy slug to select or --clear, not both.")
        registry = self.registry(key)
        value: Any = sets.as_submitted(registry, slug)
        tenant = self.tenant(options["tenant"])
        with tenant_scope(tenant):
            user = self.user(options["user"], tenant)
            actor = self.user(options["actor"], tenant, option="--as")
            context = Context(tenant=tenant, user=actor)
            # Acting as a user obeys the policy of every surface; a user's own choice is theirs.
            if actor is not None and user != actor and not can_change_selections(context):
                raise CommandError(f"Nothing was stored: {refusal(actor)}", returncode=REFUSED)
            before = _stored(registry, user)
            try:
                if clear:
                    if not options["dry_run"]:
                        registry.deselect(context, user, changed_by=actor, via="command")
                elif options["dry_run"]:
                    _validate(registry, value, context, user, before)
                else:
                    registry.select(value, context, user, changed_by=actor, via="command")
            except ValidationError as error:
                raise CommandError(
                    f"Nothing was stored: {' '.join(error.messages)}", returncode=REFUSED
                ) from None
            in_force = _in_force(registry, Context(tenant=tenant, user=user or actor))
        owner = f"user {options['user']!r}" if user is not None else where(tenant)
        previous = before or "nothing"
        if options["dry_run"]:
            action = f"would clear {registry.key}" if clear else f"may select {registry.key}={slug}"
            self.stdout.write(f"Dry run: {owner} {action} (stored now: {previous}).")
            return
        if clear:
            self.stdout.write(f"Cleared {registry.key} for {owner} (was: {previous}).")
        else:
            self.stdout.write(f"Selected {registry.key}={slug} for {owner} (was: {previous}).")
        self.stdout.write(f"In force now: {in_force}.")


def _stored(registry: type[Registry], user: Any) -> str | None:
    return (
        Selection.objects.filter(registry=registry.key, user=user)
        .values_list("slug", flat=True)
        .first()
    )


def _validate(
    registry: type[Registry], value: Any, context: Context, user: Any, stored: str | None
) -> None:
    if registry.multiple:
        validate_set(registry, value, context, user, keep=sets.split(stored))
    else:
        registry.validate_selection(value, context, user)


def _in_force(registry: type[Registry], context: Context) -> str:
    try:
        resolution: AnyResolution = registry.resolve(context)
    except NoStrategyAvailable as error:
        return f"nothing ({error})"
    return f"{resolution.slug} ({resolution.reason.description})"
