"""``Predicate``: a leaf calling a function of the context registered under a name.

Register with the decorator ``@predicate("is_weekend")`` or ``register_predicate(name, func)``;
the name is what the text form stores (``predicate:is_weekend``), never an import path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from conditions.base import Leaf
from conditions.context import Context
from conditions.kinds import register_kind
from conditions.naming import suggestion

PredicateFunction = Callable[[Context], Any]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_predicates: dict[str, PredicateFunction] = {}


class UnknownPredicate(LookupError):
    """A ``Predicate`` names a function nobody registered."""


def _qualified(function: PredicateFunction) -> str:
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', function)}"


def register_predicate(name: str, function: PredicateFunction) -> PredicateFunction:
    """Register ``function(context) -> bool`` under ``name``; returns ``function``.

    Registering a different function under a taken name is an error naming both (the same
    function, e.g. when its module is reloaded, replaces the old one).
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"A predicate name is a word of letters, digits, '_', '.', '-' such as "
            f"'is_weekend', got {name!r}"
        )
    if not callable(function):
        raise TypeError(f"Predicate {name!r} needs a callable of the context, got {function!r}")
    existing = _predicates.get(name)
    if existing is not None and _qualified(existing) != _qualified(function):
        raise ValueError(
            f"Predicate {name!r} is already registered by {_qualified(existing)}; "
            f"{_qualified(function)} needs another name"
        )
    _predicates[name] = function
    return function


def predicate(name: str) -> Callable[[PredicateFunction], PredicateFunction]:
    """Decorator form of ``register_predicate``: ``@predicate("is_weekend")``."""

    def decorator(function: PredicateFunction) -> PredicateFunction:
        return register_predicate(name, function)

    return decorator


def unregister_predicate(name: str) -> None:
    """Forget the predicate ``name`` (for tests); unknown names are ignored."""
    _predicates.pop(name, None)


def registered_predicates() -> list[str]:
    """Return every registered predicate name, sorted."""
    return sorted(_predicates)


def predicate_function(name: str) -> PredicateFunction:
    """Return the function registered as ``name``; the error suggests the closest name."""
    try:
        return _predicates[name]
    except KeyError:
        raise UnknownPredicate(
            f"Unknown predicate {name!r}.{suggestion(name, _predicates)} Register it with "
            f"@predicate({name!r}) before building conditions that use it "
            f"(registered: {', '.join(sorted(_predicates)) or 'none'})."
        ) from None


@register_kind
class Predicate(Leaf):
    """Met when the function registered as ``name`` returns a truthy value for the context."""

    __slots__ = ()
    kind = "predicate"

    def __init__(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"Predicate needs the registered name of a function, got {name!r}")
        predicate_function(name)  # unknown names fail here, with a suggestion
        super().__init__(name)

    def check(self, context: Context) -> bool:
        return bool(predicate_function(self.args[0])(context))

    def detail(self, context: Context) -> str:
        function = _predicates.get(self.args[0])
        return f"calls {_qualified(function)}" if function else "no longer registered"
