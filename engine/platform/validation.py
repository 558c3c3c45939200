"""What platform state writes accept: ``registry.slug`` names, notes, scopes and authors.

Every surface (the admin, the commands, ``engine.platform.changes``) validates here first, so
hostile input (NUL bytes, megabyte notes, unknown names) is a ``ValidationError`` naming what
was wrong and what was expected, and nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from conditions import ConditionSyntaxError, parse
from conditions.kinds import UnknownKind
from conditions.naming import echo, suggestion

NOTE_MAX_LENGTH = 500
SCOPE_MAX_LENGTH = 500
ACTOR_MAX_LENGTH = 150
# Control characters other than tab and newline: never in a note, scope or author.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _validate_text(value: Any, *, what: str, code: str, max_length: int) -> None:
    if not isinstance(value, str):
        raise ValidationError(
            "%(what)s must be a string, got %(type)s.",
            code=code,
            params={"what": what, "type": type(value).__name__},
        )
    if len(value) > max_length:
        raise ValidationError(
            "%(what)s is %(length)s characters long: at most %(max)s are accepted.",
            code=code,
            params={"what": what, "length": len(value), "max": max_length},
        )
    if _CONTROL.search(value):
        raise ValidationError(
            "%(what)s %(value)s contains control characters (such as NUL).",
            code=code,
            params={"what": what, "value": echo(value)},
        )


def validate_note(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_note``) unless ``value`` can be a note."""
    _validate_text(value, what="The note", code="invalid_note", max_length=NOTE_MAX_LENGTH)


def validate_actor(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_actor``) unless ``value`` can name an author."""
    _validate_text(value, what="The author", code="invalid_actor", max_length=ACTOR_MAX_LENGTH)


def validate_scope(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_scope``) unless ``value`` is a condition text."""
    _validate_text(value, what="The scope", code="invalid_scope", max_length=SCOPE_MAX_LENGTH)
    if not value.strip():
        return
    try:
        parse(value)
    except (ConditionSyntaxError, UnknownKind, ValueError, TypeError) as error:
        raise ValidationError(
            "The scope %(value)s is not a condition: %(error)s (expected e.g. "
            "'plan:free | tenant:acme').",
            code="invalid_scope",
            params={"value": echo(value), "error": error},
        ) from None


def parse_dotted(value: Any) -> tuple[str, str]:
    """Return ``(registry key, slug)`` of ``registry.slug``; ``ValidationError`` naming the
    closest registered name (code ``unknown_strategy``) unless a registry has that strategy."""
    from engine.catalogue import registries

    known = registries()
    if not isinstance(value, str) or "." not in value or _CONTROL.search(value):
        raise ValidationError(
            "Expected registry.slug (e.g. 'payments.crypto'), got %(value)s.",
            code="invalid_name",
            params={"value": echo(value)},
        )
    key, slug = value.split(".", 1)
    registry = known.get(key)
    if registry is None:
        raise ValidationError(
            "No registry has the key %(key)s.%(hint)s Known keys: %(known)s.",
            code="unknown_registry",
            params={
                "key": echo(key),
                "hint": suggestion(key, known),
                "known": ", ".join(sorted(known)) or "none",
            },
        )
    if slug not in registry:
        dotted = [f"{key}.{name}" for name in registry.slugs()]
        raise ValidationError(
            "Registry %(key)s has no strategy %(slug)s.%(hint)s Known: %(known)s.",
            code="unknown_strategy",
            params={
                "key": repr(key),
                "slug": echo(slug),
                "hint": suggestion(value, dotted),
                "known": ", ".join(dotted) or "none",
            },
        )
    return key, slug
