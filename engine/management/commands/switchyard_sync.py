"""``manage.py switchyard_sync [--update] [--prune]``: the platform state's rows, in step with
the strategies registered in code (also run, create-only, after ``migrate``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from engine.platform.sync import sync


class Command(BaseCommand):
    help = (
        "Create the platform state of every registered strategy that has none (active, the "
        "class's priority). Idempotent; the platform's decisions (status, priority override, "
        "note, scope) are never changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--update", action="store_true", help="Also refresh the synced labels of existing rows."
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Delete the rows whose strategy class is gone (recorded in the history).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync(update=options["update"], prune=options["prune"])
        for line in report.lines():
            self.stdout.write(line)
