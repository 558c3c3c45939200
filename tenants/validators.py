"""Tenant names and domains: one validator each, used wherever they are written.

``provision_tenant`` (and so the ``provision_tenant`` command and ``ensure_tenant``), the
platform admin's tenant form and its domain inline all check with these, so no surface
stores what another would refuse.

A **tenant name** is what people read: 1-100 printable characters, ordinary spaces inside but
not around it, and nothing that does not print (NUL, ESC, CR, LF and every other control
character, zero-width and direction-changing characters, unusual spaces).

A **domain** is what browsers send in ``Host``: lower-case ASCII labels of letters, digits and
``-`` (LDH), 1-63 characters each, not starting or ending with ``-``, separated by single dots,
253 characters at most; no scheme, port, path or spaces. An internationalised name is written
in its IDNA (punycode) form, ``xn--...``, which must decode; a raw non-ASCII name is refused,
so a look-alike (``acme`` spelt with a Cyrillic ``a``, U+0430) cannot pass for another
tenant's domain. A punycode label is accepted as written: the platform admin sees the
``xn--`` form, as browsers show a mixed-script name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

from conditions.naming import echo

NAME_MAX_LENGTH = 100
DOMAIN_MAX_LENGTH = 253
HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
EXAMPLE_DOMAIN = "acme.example.com"


def validate_tenant_name(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_tenant_name``) unless ``value`` is a name."""
    problem = _name_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_tenant_name")


def _name_problem(value: Any) -> str:
    if not isinstance(value, str):
        return f"A tenant name is text, got {type(value).__name__}."
    if not value.strip():
        return "The tenant needs a name."
    if len(value) > NAME_MAX_LENGTH:
        return f"The name {echo(value)} is longer than {NAME_MAX_LENGTH} characters."
    hidden = next((char for char in value if not char.isprintable() and char != " "), None)
    if hidden is not None:
        return (
            f"The name {echo(value)} contains {_describe(hidden)}, which does not print: use "
            "printable characters and ordinary spaces."
        )
    if value != value.strip():
        return f"The name {echo(value)} starts or ends with a space."
    return ""


def normalize_domain(value: Any) -> Any:
    """Return ``value`` as a domain is stored: stripped, and lower-cased when it is ASCII.

    Non-ASCII text is not lower-cased (``"\\u212a"``, the Kelvin sign, would become ``"k"``):
    it stays as given, and ``validate_domain`` refuses it.
    """
    if not isinstance(value, str):
        return value
    value = value.strip()
    return value.lower() if value.isascii() else value


def validate_domain(value: Any) -> None:
    """Raise ``ValidationError`` (code ``invalid_domain``) unless ``value`` is a domain."""
    problem = _domain_problem(value)
    if problem:
        raise ValidationError(problem, code="invalid_domain")


def _domain_problem(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return f"The tenant needs a domain (a host name such as {EXAMPLE_DOMAIN!r})."
    shown = echo(value)
    if "://" in value or "/" in value:
        return f"Invalid domain {shown}: give the host name alone, e.g. {EXAMPLE_DOMAIN!r}."
    if not value.isascii():
        odd = next(char for char in value if not char.isascii())
        return (
            f"Invalid domain {shown}: it contains {_describe(odd)}. Domains are ASCII; write an "
            "internationalised name in its IDNA form ('xn--...')."
        )
    if value != value.lower():
        return f"Invalid domain {shown}: domains are lower case ({echo(value.lower())})."
    if len(value) > DOMAIN_MAX_LENGTH:
        return f"Invalid domain {shown}: longer than {DOMAIN_MAX_LENGTH} characters."
    for label in value.split("."):
        problem = _label_problem(label)
        if problem:
            return f"Invalid domain {shown}: {problem}"
    return ""


def _label_problem(label: str) -> str:
    if not HOST_LABEL.match(label):
        return (
            "expected dot-separated labels of 1-63 lower-case letters, digits and '-', not "
            "starting or ending with '-' (no spaces, port or path)."
        )
    if label[2:4] == "--" and not label.startswith("xn--"):
        return f"the label {label!r} has '--' in 3rd and 4th position, reserved for 'xn--'."
    if label.startswith("xn--"):
        try:
            label.encode("ascii").decode("idna")
        except UnicodeError:
            return f"the label {label!r} is not valid IDNA (punycode)."
    return ""


def _describe(char: str) -> str:
    """Return ``char`` for a message: its code point and name (it may not print)."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")
