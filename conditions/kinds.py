"""The registry of text kinds (``flag`` → ``Flag``, ``plan`` → ``Plan``, ...); apps extend it."""

from __future__ import annotations

import re
from typing import TypeVar

from conditions.base import Leaf
from conditions.naming import suggestion

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
