"""Helping people with a name they gave: the closest known name, and the name shortened.

Every error message of Switchyard uses these two about a value it was given: ``suggestion``
(" Did you mean 'x'?") and ``echo`` (the value, cut to a short prefix and its length).
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable

# How much of a value given by a user (or an attacker) an error message or log line repeats.
ECHO_LIMIT = 40
# difflib's cutoff (0.6) cannot be reached by a name this many times longer than a known one.
_SUGGESTION_RATIO = 3

_reprs = reprlib.Repr()
_reprs.maxstring = _reprs.maxother = ECHO_LIMIT
_reprs.maxlevel = 3


def suggestion(name: str, known: Iterable[str]) -> str:
    """Return " Did you mean 'x'?" for the closest of ``known`` to ``name``, or ''."""
    known = [item for item in known if isinstance(item, str)]
    if not isinstance(name, str) or not known:
        return ""
    # Indexing a huge name costs its length; it cannot be close to any known name anyway.
    if len(name) > _SUGGESTION_RATIO * max(len(item) for item in known):
        return ""
    matches = difflib.get_close_matches(name, known, n=1)
    return f" Did you mean {echo(matches[0])}?" if matches else ""


def echo(value: object, limit: int = ECHO_LIMIT) -> str:
    """Return ``repr(value)`` for a message, cut to about ``limit`` characters.

    A longer string shows its start and its length, ``'aaaa…' (10000 characters)``; other
    values are shortened by ``reprlib`` (never a deep recursion). Control characters are
    escaped, as ``repr`` escapes them, so nothing echoed can act on a terminal.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit] + '…'!r} ({len(value)} characters)"
    text = _reprs.repr(value)
    return text if len(text) <= 2 * limit else f"{text[: 2 * limit]}… ({type(value).__name__})"
