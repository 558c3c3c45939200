"""``manage.py switchyard_enable payments.crypto``: undo ``switchyard_disable`` (or a reserve).

Every tenant that stored the strategy gets it back at its next request (stored choices are never
rewritten). ``--reserve`` holds it in reserve instead: offered only when no active strategy of
its registry is available.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from engine.management.commands import switchyard_disable
from engine.platform.state import Status


class Command(switchyard_disable.Command):
    help = (
        "Make a strategy active again for every tenant (registry.slug); with --reserve, hold it "
        "in reserve. Tenants that stored it get it back at their next request."
    )
    status = Status.ACTIVE

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--reserve",
            action="store_true",
            help="Reserve: offered only when no active strategy of the registry is available.",
        )

    def note(self, given: str | None) -> str | None:
        """Return the note to store: the outage's note is cleared unless one is given."""
        return "" if given is None else given

    def handle(self, *args: Any, **options: Any) -> None:
        if options["reserve"]:
            self.status = Status.RESERVE
        super().handle(*args, **options)
