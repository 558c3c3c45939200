"""Sets of strategies (``multiple = True`` registries): how a set is stored and what it may hold.

A stored set is one ``Selection`` row per ``(registry, user)`` like a single choice: its
``slug`` column holds the set's slugs in order, joined by commas (a strategy slug holds only
letters, digits, ``-`` and ``_``, never a comma). So the cache, the one read per request, the
pooling-safe SQL and the history (``email`` → ``email,slack``) stay what they are for single
registries. This module checks the shape of a submitted set; ``engine.storage.writes`` checks
each slug's availability in the context, like a single selection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from conditions.naming import echo
from engine.exceptions import unknown_strategy_error

if TYPE_CHECKING:
    from engine.registry import Registry

__all__ = ["SEPARATOR", "as_submitted", "join", "split", "validate_shape"]

SEPARATOR = ","


def join(slugs: Iterable[str]) -> str:
    """Return the stored form of the ordered ``slugs``."""
    return SEPARATOR.join(slugs)


def split(value: str | None) -> tuple[str, ...]:
    """Return the slugs of a stored set, in order (None or empty: none)."""
    if not value:
        return ()
    return tuple(slug for slug in value.split(SEPARATOR) if slug)


def as_submitted(registry: type[Registry], value: Any) -> Any:
    """Return ``value`` as ``Registry.select`` takes it: for a registry holding a set, a
    string of slugs joined by commas (a command-line or settings value) becomes a list."""
    if registry.multiple and isinstance(value, str):
        return value.split(SEPARATOR)
    return value


def validate_shape(
    registry: type[Registry], value: Any, keep: Iterable[str] = ()
) -> tuple[str, ...]:
    """Return ``value`` as a tuple of slugs if it is a set ``registry`` may store, else raise.

    Checks everything but availability: a list (or tuple) of distinct registered slugs, with
    every mandatory strategy and between ``min_selected`` and ``max_selected`` of them. Slugs
    in ``keep`` (those stored now) may stay even if no longer registered. Raises
    ``ValidationError`` with code ``invalid_set``, ``too_many``, ``too_few``, ``duplicate``,
    ``unknown_strategy`` or ``mandatory``; nothing of the input beyond a short prefix is echoed.
    """
    if not isinstance(value, list | tuple):
        raise ValidationError(
            "Registry %(registry)s holds a set: expected a list of strategy slugs, got %(type)s.",
            code="invalid_set",
            params={"registry": repr(registry.key), "type": type(value).__name__},
        )
    kept = frozenset(keep)
    # Checked before looking at any item, so a huge list costs nothing more.
    limit = registry.max_selected
    if len(value) > (limit if limit is not None else len(registry) + len(kept)):
        raise _count_error(registry, len(value), "too_many")
    slugs: list[str] = []
    for slug in value:
        if not isinstance(slug, str):
            raise ValidationError(
                "Registry %(registry)s holds a set of slugs: %(value)s is a %(type)s, not a "
                "string.",
                code="invalid_set",
                params={
                    "registry": repr(registry.key),
                    "value": echo(slug),
                    "type": type(slug).__name__,
                },
            )
        if slug not in registry and slug not in kept:
            raise unknown_strategy_error(registry, slug)
        if slug in slugs:
            raise ValidationError(
                "Strategy %(slug)s is listed twice.", code="duplicate", params={"slug": repr(slug)}
            )
        slugs.append(slug)
    missing = [slug for slug in registry.mandatory if slug not in slugs]
    if missing:
        raise ValidationError(
            "%(missing)s of %(registry)s is mandatory: it is always in force and cannot be "
            "deselected.",
            code="mandatory",
            params={
                "missing": ", ".join(repr(slug) for slug in missing),
                "registry": repr(registry.key),
            },
        )
    if len(slugs) < registry.min_selected:
        raise _count_error(registry, len(slugs), "too_few")
    return tuple(slugs)


def _count_error(registry: type[Registry], count: int, code: str) -> ValidationError:
    low, high = registry.min_selected, registry.max_selected
    expected = f"{low} to {high if high is not None else len(registry)}"
    return ValidationError(
        "Registry %(registry)s holds %(expected)s strategies; %(count)s were given.",
        code=code,
        params={"registry": repr(registry.key), "expected": expected, "count": count},
    )
