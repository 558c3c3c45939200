"""Helping people fix a name they got wrong: the closest known name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggestion(name: str, known: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest of ``known`` to ``name``, or ''."""
    matches = difflib.get_close_matches(name, list(known), n=1)
    return f" Did you mean {matches[0]!r}?" if matches else ""
