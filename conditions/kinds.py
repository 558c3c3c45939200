"""The registry of text kinds (``flag`` → ``Flag``, ``plan`` → ``Plan``, ...); apps extend it.

Also the two helpers every error message of Switchyard uses about a name it was given:
``suggestion`` (the closest known name) and ``echo`` (the name, shortened).
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Iterable
from typing import TypeVar

from conditions.base import Leaf

LeafType = TypeVar("LeafType", bound=type[Leaf])

_kinds: dict[str, type[Leaf]] = {}

_KIND = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RESERVED = ("always", "never")


class UnknownKind(LookupError):
    """A text form names a kind no leaf class registered."""


def register_kind(leaf_class: LeafType) -> LeafType:
    """Register ``leaf_class`` under its ``kind`` so ``parse`` can read it; usable as decorator.

    Registering another class under a kind already taken is an error naming both classes.
    """
    kind = getattr(leaf_class, "kind", None)
    if not isinstance(kind, str) or not _KIND.fullmatch(kind) or kind in _RESERVED:
        raise ValueError(
            f"{leaf_class.__qualname__}.kind must be a word of letters, digits and '_' "
            f"(not {', '.join(_RESERVED)}), got {kind!r}"
        )
    existing = _kinds.get(kind)
    if existing is not None and existing is not leaf_class:
        raise ValueError(
            f"Condition kind {kind!r} is already registered by "
            f"{existing.__module__}.{existing.__qualname__}; "
            f"{leaf_class.__module__}.{leaf_class.__qualname__} needs another kind"
        )
    _kinds[kind] = leaf_class
    return leaf_class


def kind_class(kind: str) -> type[Leaf]:
    """Return the leaf class registered under ``kind``; the error suggests the closest kind."""
    try:
        return _kinds[kind]
    except KeyError:
        raise UnknownKind(f"Unknown condition kind {kind!r}.{suggestion(kind, _kinds)}") from None


def registered_kinds() -> list[str]:
    """Return every registered kind, sorted."""
    return sorted(_kinds)


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
