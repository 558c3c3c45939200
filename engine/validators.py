"""The shape of what selections store (registry keys, slugs, the ``via`` of a change), and of
credentials no user can have (``credentials_problem``, without DRF: a page's middleware uses it)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from django.conf import settings
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
# In a raw header value a tab may separate words; nothing else below a space may appear.
HEADER_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


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


def credentials_problem(request: Any) -> str:
    """Return what makes the credentials of ``request`` malformed, or '' when nothing does."""
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    if CONTROL_CHARACTERS.search(cookie):
        return f"The {settings.SESSION_COOKIE_NAME} cookie contains control characters."
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not isinstance(header, str) or not header:
        return ""
    if HEADER_CONTROL_CHARACTERS.search(header):
        return "The Authorization header contains control characters."
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""  # not base64 at all: BasicAuthentication itself refuses it
    if CONTROL_CHARACTERS.search(decoded):
        return "The Basic credentials contain control characters."
    return ""
