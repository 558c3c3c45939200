"""``manage.py switchyard_disable payments.crypto --note "provider outage"``: the kill switch.

Every tenant whose choice (or default) is the strategy falls back at its next request, with the
reason ``disabled_by_platform`` and the note; ``switchyard_enable`` gives every tenant its
stored choice back. Audited: who (``--by``, default the OS user), when, the note.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from engine.management.base import usage_error
from engine.platform.changes import set_status
from engine.platform.state import Status


class Command(BaseCommand):
    help = (
        "Disable a strategy for every tenant (registry.slug): tenants fall back at their next "
        "request, with the note. Stored choices are kept; switchyard_enable restores them."
    )
    status = Status.DISABLED

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("strategy", help="registry.slug, e.g. payments.crypto")
        parser.add_argument(
            "--note", help="Why (shown to tenants and in the history); default: keep the note."
        )
        parser.add_argument(
            "--scope",
            help="Only for the tenants meeting this condition (e.g. 'plan:free'); '' for all. "
            "Default: keep the stored scope.",
        )
        parser.add_argument("--by", help="Who made the change (default: the OS user).")

    def note(self, given: str | None) -> str | None:
        """Return the note to store (None: keep the stored one)."""
        return given

    def handle(self, *args: Any, **options: Any) -> None:
        by = options["by"] if options["by"] is not None else _os_user()
        try:
            state = set_status(
                options["strategy"],
                self.status.value,
                note=self.note(options["note"]),
                scope=options["scope"],
                changed_by=f"command:{by}",
                via="command",
            )
        except ValidationError as error:
            raise usage_error("; ".join(error.messages)) from None
        note = f" ({state.note})" if state.note else ""
        scope = f" for {state.scope}" if state.scope else ""
        self.stdout.write(f"{state.dotted} is {state.status}{scope}{note}.")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        return "unknown"
