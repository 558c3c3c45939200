"""The shape of what selections store: registry keys, slugs and the ``via`` of a change."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError

from conditions.naming import echo

# Column widths of engine.models; a longer value is an error, never truncated.
MAX_LENGTH = 100
# The stored value of a set (engine.sets): its slugs joined by commas.
STORED_MAX_LENGTH = 2000
VIA_MAX_LENGTH = 32
# C0 control characters and DEL: in no key, slug, via, session key or user name. PostgreSQL
# refuses text holding NUL outright (a DataError), so input is checked before any query.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def _validate_token(value: Any, *, what: str, code: str, max_length: int) -> None:
    if not isinstance(value, str):
        raise ValidationError(
            "%(what)s must be a string, got %(type)s.",
            code=code,
            params={"what": what, "type": type(value).__name__},
        )
    if not value or len(value) > max_length or any(c.isspace() for c in value):
        raise ValidationError(
            "%(what)s %(value)s is not valid: expected 1 to %(max)s characters, no spaces.",
            code=code,
            params={"what": what, "value": echo(value), "max": max_length},
        )
    if not value.isprintable():
        raise ValidationError(
            "%(what)s %(value)s is not valid: it contains control characters.",
            code=code,
            params={"what": what, "value": echo(value)},
        )


def validate_registry_key(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_registry_key``) unless ``value`` can be stored."""
    _validate_token(value, what="Registry key", code="invalid_registry_key", max_length=MAX_LENGTH)


def validate_slug(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_slug``) unless ``value`` can be stored."""
    _validate_token(value, what="Strategy slug", code="invalid_slug", max_length=MAX_LENGTH)


def validate_via(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_via``) unless ``value`` names a write path."""
    _validate_token(value, what="via", code="invalid_via", max_length=VIA_MAX_LENGTH)


def validate_stored_slugs(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_slug``) unless ``value`` is a slug, or slugs
    joined by commas (a set), that can be stored."""
    if not isinstance(value, str) or "," not in value:
        validate_slug(value)
        return
    if len(value) > STORED_MAX_LENGTH:
        raise ValidationError(
            "A set of strategy slugs %(value)s is %(length)s characters; at most %(max)s fit.",
            code="invalid_slug",
            params={"value": echo(value), "length": len(value), "max": STORED_MAX_LENGTH},
        )
    for slug in value.split(","):
        validate_slug(slug)
