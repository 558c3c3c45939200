"""Quoting of leaf arguments in the text form: bare when safe, else a double-quoted string."""

from __future__ import annotations

import re

# What a bare (unquoted) argument may contain; anything else is written as a quoted string.
BARE_ARGUMENT = re.compile(r"[A-Za-z0-9_.\-+=<>%@/*,:]+")


def quote(argument: str) -> str:
    """Return ``argument`` as it must appear after ``kind:`` (quoted only when needed)."""
    if BARE_ARGUMENT.fullmatch(argument):
        return argument
    escaped = argument.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
