"""``Setting``: a leaf on a Django setting, read at evaluation time (never at import)."""

from __future__ import annotations

import ast
import re
from typing import Any

from django.conf import settings

from conditions.base import Leaf
from conditions.context import Context, served
from conditions.kinds import register_kind
from conditions.naming import echo
from conditions.quoting import BARE_ARGUMENT, quote

_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_MISSING = object()
_LITERAL_TYPES = (str, int, float, bool, type(None))
_NOT_A_LITERAL = object()
# What ast.literal_eval raises for text that is no literal; its documentation lists
# MemoryError and RecursionError for deeply nested text ("-" * 5000 + "1"), which Python's
# own parser cannot read either.
_LITERAL_ERRORS = (ValueError, TypeError, SyntaxError, MemoryError, RecursionError)


def _literal_value(text: str) -> Any:
    """Return the Python literal ``text`` spells, or ``_NOT_A_LITERAL``."""
    try:
        return ast.literal_eval(text)
    except _LITERAL_ERRORS:
        return _NOT_A_LITERAL


def _literal(value: Any) -> bool:
    pending = [value]  # a loop, not recursion: a tuple may nest thousands deep
    while pending:
        item = pending.pop()
        if isinstance(item, tuple):
            pending.extend(item)
        elif not isinstance(item, _LITERAL_TYPES):
            return False
    try:
        text = repr(value)
    except RecursionError:
        return False
    return bool(_literal_value(text) == value)  # not so for nan and inf


def _value_text(value: Any) -> str:
    # A string that is bare-safe and not itself a Python literal is written bare
    # (setting:MODE=live); everything else as its Python literal (setting:RETRIES=3).
    bare = isinstance(value, str) and BARE_ARGUMENT.fullmatch(value)
    if bare and _literal_value(value) is _NOT_A_LITERAL:
        return value
    return repr(value)


@register_kind
class Setting(Leaf):
    """Met when ``settings.NAME`` is truthy, or, given ``value``, equals ``value``.

    ``Setting("PAYMENTS_LOCKDOWN")`` is ``setting:PAYMENTS_LOCKDOWN``;
    ``Setting("PAYMENTS_MODE", "live")`` is ``setting:PAYMENTS_MODE=live``. A setting that is
    not defined is not met. Values are Python literals (str, int, float, bool, None, tuples).
    """

    __slots__ = ("_compare", "_expected", "_name")
    kind = "setting"
    # Reading a setting costs less than looking it up in the memo, and settings do not change
    # within a request: composites read it each time they need it (see conditions.compiler).
    memoised = False

    _name: str
    _compare: bool
    _expected: Any

    def __init__(self, name: str, *value: Any) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError(
                "Setting needs the name of a Django setting in capitals such as "
                f"'PAYMENTS_LOCKDOWN', got {echo(name)}"
            )
        if len(value) > 1:
            raise TypeError(f"Setting takes a name and at most one value, got {len(value)}")
        if value and not _literal(value[0]):
            raise TypeError(
                f"Setting({name!r}, ...) compares with a Python literal (str, int, float, "
                f"bool, None or a tuple of those), got {echo(value[0])}"
            )
        super().__init__(name, *value)
        # The arguments as the hot path reads them (a slot each, not a tuple index).
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_compare", bool(value))
        object.__setattr__(self, "_expected", value[0] if value else None)

    @property
    def name(self) -> str:
        return self._name

    def check(self, context: Context) -> bool:
        current = served.get(self._name, _MISSING)  # read_setting(), inlined: hot path
        if current is _MISSING:
            current = getattr(settings, self._name, _MISSING)
            if current is _MISSING:
                return False
        if self._compare:
            return bool(current == self._expected)
        return bool(current)

    def detail(self, context: Context) -> str:
        current = getattr(settings, self.args[0], _MISSING)
        if current is _MISSING:
            return f"{self.args[0]} is not set"
        if len(self.args) == 1:
            return f"{self.args[0]}={current!r} ({'truthy' if current else 'falsy'})"
        return f"{self.args[0]}={current!r}, expected {self.args[1]!r}"

    def argument(self) -> str:
        if len(self.args) == 1:
            return self.name
        return quote(f"{self.name}={_value_text(self.args[1])}")

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        name, equals, text = argument.partition("=")
        if not equals:
            return cls(name)
        value = _literal_value(text)
        return cls(name, text if value is _NOT_A_LITERAL else value)
