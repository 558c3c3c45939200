"""The condition algebra: ``Condition``, its composites ``All``/``Any``/``Not``, and ``Leaf``.

Conditions are immutable values: equal conditions compare and hash equal, ``a & b & c``
flattens into one ``All`` (duplicates dropped, a single operand is the operand itself),
``~~a`` is ``a``, and evaluation short-circuits.

Evaluation is three-valued. A leaf that raises is *unknown*, not false: ``~`` of an unknown is
still unknown, ``All`` with an unknown is unknown unless another operand is false, and ``Any``
with an unknown is unknown unless another operand is true. An unknown result counts as "not
met". That is what makes errors fail closed: wrapping a broken flag in ``~`` cannot turn an
error into access.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from typing import Any as AnyType
from typing import ClassVar

from django.core.exceptions import SynchronousOnlyOperation

from conditions.compiler import NodeKinds, compile_truth
from conditions.context import Context
from conditions.explanation import Explanation
from conditions.quoting import quote

logger = logging.getLogger("switchyard.conditions")

# Binding strength in the text form: ``|`` < ``&`` < ``~`` and leaves.
ANY_PRECEDENCE = 1
ALL_PRECEDENCE = 2
ATOM_PRECEDENCE = 3

# A leaf's evaluation: True, False or None (unknown: it raised).
Truth = bool | None


class Condition:
    """A rule evaluated against a ``Context``; compose with ``&``, ``|`` and ``~``."""

    __slots__ = ("_hash",)
    precedence: ClassVar[int] = ATOM_PRECEDENCE
    # The class that decides equality; a shorthand subclass (``Staff()`` for
    # ``UserAttribute("is_staff")``) sets it to its general class so both compare equal.
    value_class: ClassVar[type[Condition] | None] = None

    _hash: int

    def __init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self._value_class(), self.identity())))

    def _value_class(self) -> type[Condition]:
        return self.value_class or type(self)

    # Composition -------------------------------------------------------------------------

    def __and__(self, other: Condition) -> Condition:
        return All(self, _require_condition(other, "&"))

    def __rand__(self, other: Condition) -> Condition:
        return All(_require_condition(other, "&"), self)

    def __or__(self, other: Condition) -> Condition:
        return Any(self, _require_condition(other, "|"))

    def __ror__(self, other: Condition) -> Condition:
        return Any(_require_condition(other, "|"), self)

    def __invert__(self) -> Condition:
        return Not(self)

    def __bool__(self) -> bool:
        raise TypeError(
            f"{self!r} has no truth value of its own: call .evaluate(context), and use "
            "&, |, ~ (not 'and', 'or', 'not') to combine conditions"
        )

    # Evaluation --------------------------------------------------------------------------

    def evaluate(self, context: Context) -> bool:
        """Return whether the condition is met; a condition that raised counts as not met."""
        return self.truth(context) is True

    def truth(self, context: Context) -> Truth:
        """Return True, False, or None when the outcome is unknown because a leaf raised."""
        raise NotImplementedError

    def explain(self, context: Context) -> Explanation:
        """Return the tree of why this condition is or is not met in ``context``."""
        raise NotImplementedError

    # Value semantics ---------------------------------------------------------------------

    def identity(self) -> tuple[AnyType, ...]:
        """Return the values that make two conditions of the same class equal."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Condition) or self._value_class() is not other._value_class():
            return NotImplemented
        return self._hash == other._hash and self.identity() == other.identity()

    def __hash__(self) -> int:
        return self._hash

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    # Immutable values: copies are the value itself; pickles rebuild through the constructor.
    def __copy__(self) -> Condition:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Condition:
        return self

    def __reduce__(self) -> tuple[AnyType, tuple[AnyType, ...]]:
        return (type(self), self.identity())

    def operand_text(self, parent_precedence: int) -> str:
        """Return the text of this condition as an operand, parenthesised where needed."""
        text = str(self)
        return f"({text})" if self.precedence < parent_precedence else text


class Always(Condition):
    """Always met: the condition of a strategy that sets none."""

    __slots__ = ()

    def truth(self, context: Context) -> Truth:
        return True

    def explain(self, context: Context) -> Explanation:
        return Explanation(str(self), True)

    def identity(self) -> tuple[AnyType, ...]:
        return ()

    def __str__(self) -> str:
        return "always"

    def __repr__(self) -> str:
        return "Always()"


class Never(Condition):
    """Never met: switches a strategy off."""

    __slots__ = ()

    def truth(self, context: Context) -> Truth:
        return False

    def explain(self, context: Context) -> Explanation:
        return Explanation(str(self), False)

    def identity(self) -> tuple[AnyType, ...]:
        return ()

    def __str__(self) -> str:
        return "never"

    def __repr__(self) -> str:
        return "Never()"


class _Composite(Condition):
    """Common ground of ``All`` and ``Any``: an ordered tuple of distinct operands, flattened.

    Constructing one from a single (distinct) operand returns that operand, so ``All(a)`` and
    ``a & a`` are ``a`` and the text form reads back to an equal value.
    """

    __slots__ = ("conditions", "truth")
    operator: ClassVar[str]

    conditions: tuple[Condition, ...]
    # The compiled evaluation (conditions.compiler), made on the first call.
    truth: AnyType

    def __new__(cls, *conditions: Condition) -> AnyType:
        if not conditions:
            raise TypeError(f"{cls.__name__}() needs at least one condition")
        flat = tuple(dict.fromkeys(cls._flatten(conditions)))
        if len(flat) == 1:
            return flat[0]
        self = super().__new__(cls)
        object.__setattr__(self, "conditions", flat)
        object.__setattr__(self, "truth", _compiled_on_first_call(self))
        Condition.__init__(self)
        return self

    def __init__(self, *conditions: Condition) -> None:
        # Everything happened in __new__ (which may return an operand instead of a composite).
        pass

    @classmethod
    def _flatten(cls, conditions: Iterable[Condition]) -> Iterable[Condition]:
        for condition in conditions:
            _require_condition(condition, cls.operator)
            if type(condition) is cls:
                assert isinstance(condition, _Composite)
                yield from condition.conditions
            else:
                yield condition

    def identity(self) -> tuple[AnyType, ...]:
        return self.conditions

    def explain(self, context: Context) -> Explanation:
        # Every operand is explained (no short-circuit): the point is to show all reasons.
        children = tuple(condition.explain(context) for condition in self.conditions)
        truth = self.truth(context)
        detail = "unknown: an operand raised" if truth is None else ""
        return Explanation(str(self), truth is True, detail=detail, children=children)

    def __str__(self) -> str:
        joiner = f" {self.operator} "
        return joiner.join(c.operand_text(self.precedence + 1) for c in self.conditions)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.conditions))})"


def _compiled_on_first_call(condition: Condition) -> AnyType:
    """Return the first ``truth`` of a composite: it compiles the condition, keeps the compiled
    function as the condition's ``truth`` and calls it.

    Compiled on first use, not on construction: ``a & b & c`` builds intermediate composites
    that are never evaluated. Two threads may both compile; either result is the same function.
    """

    def truth(context: Context) -> Truth:
        compiled = compile_truth(condition, _NODE_KINDS)
        object.__setattr__(condition, "truth", compiled)
        return compiled(context)

    return truth


class All(_Composite):
    """Met when every operand is met (``a & b``); stops at the first that is not."""

    __slots__ = ()
    operator = "&"
    precedence = ALL_PRECEDENCE


class Any(_Composite):
    """Met when at least one operand is met (``a | b``); stops at the first that is."""

    __slots__ = ()
    operator = "|"
    precedence = ANY_PRECEDENCE


class Not(Condition):
    """Met when its operand is not met (``~a``); an unknown operand stays unknown.

    ``Not(Not(a))`` is ``a``.
    """

    __slots__ = ("condition", "truth")

    condition: Condition
    # The compiled evaluation (conditions.compiler), made on the first call.
    truth: AnyType

    def __new__(cls, condition: Condition) -> AnyType:
        _require_condition(condition, "~")
        if type(condition) is Not:
            return condition.condition
        self = super().__new__(cls)
        object.__setattr__(self, "condition", condition)
        object.__setattr__(self, "truth", _compiled_on_first_call(self))
        Condition.__init__(self)
        return self

    def __init__(self, condition: Condition) -> None:
        # Everything happened in __new__ (which returns the inner operand for ~~a).
        pass

    def __invert__(self) -> Condition:
        return self.condition

    def explain(self, context: Context) -> Explanation:
        child = self.condition.explain(context)
        truth = self.truth(context)
        detail = "unknown: the operand raised" if truth is None else ""
        return Explanation(str(self), truth is True, detail=detail, children=(child,))

    def identity(self) -> tuple[AnyType, ...]:
        return (self.condition,)

    def __str__(self) -> str:
        return "~" + self.condition.operand_text(ATOM_PRECEDENCE)

    def __repr__(self) -> str:
        return f"Not({self.condition!r})"


class Leaf(Condition):
    """A condition that looks something up: a flag, a permission, a setting, ...

    Subclasses set ``kind`` (the prefix of the text form, e.g. ``"flag"``), pass the values
    that identify them to ``super().__init__(*args)``, and implement ``check(context)``.
    ``argument()`` gives the text after ``kind:`` (quoted with ``quote`` when needed) and
    defaults to the single argument; ``from_argument`` reads it back.
    A leaf is evaluated at most once per context: the result (or the exception) is memoised.
    """

    __slots__ = ("_key", "args")
    kind: ClassVar[str]
    # Whether a composite looks the result up in (and stores it to) the context's memo. A leaf
    # whose check is cheaper than the memo and has no side effect may say False.
    memoised: ClassVar[bool] = True

    args: tuple[AnyType, ...]
    _key: int

    def __init__(self, *args: AnyType) -> None:
        object.__setattr__(self, "args", args)
        super().__init__()
        object.__setattr__(self, "_key", _memo_key((self._value_class(), args)))

    def check(self, context: Context) -> bool:
        """Look the thing up; may raise, which makes the leaf unknown (not met)."""
        raise NotImplementedError

    def detail(self, context: Context) -> str:
        """Return a note for the explanation (e.g. how the leaf was evaluated), or ''."""
        return ""

    def argument(self) -> str:
        """Return the text after ``kind:`` in the text form; ``from_argument`` reads it back."""
        (only,) = self.args
        return quote(str(only))

    @classmethod
    def from_argument(cls, argument: str) -> Leaf:
        """Build the leaf from the (unquoted) text after ``kind:``; inverse of ``argument()``."""
        return cls(argument)

    def identity(self) -> tuple[AnyType, ...]:
        return self.args

    def __reduce__(self) -> tuple[AnyType, tuple[AnyType, ...]]:
        return (type(self), self.args)

    def truth(self, context: Context) -> Truth:
        """Return the leaf's result in ``context``, else its check's (once: memoised).

        ``conditions.compiler`` inlines this in composites: keep the two in step.
        """
        value = context.memo.get(self._key)
        if value is None:
            try:
                value = context.memo[self._key] = bool(self.check(context))
            except Exception as error:
                self.failed(context, error)
                return None
        elif value.__class__ is not bool:
            return None  # the exception it raised: unknown
        return value

    def failed(self, context: Context, error: Exception) -> None:
        """Record that ``check`` raised ``error``: memoised, logged once, re-raised if strict.

        ``SynchronousOnlyOperation`` always propagates: the leaf is not broken, it was asked
        for the database inside an event loop, and the caller must load it in a thread.
        """
        if context.strict or isinstance(error, SynchronousOnlyOperation):
            raise error
        context.memo[self._key] = error
        if context.first_failure(self):
            logger.warning(
                "Condition %s raised %s: %s; counted as not met",
                self,
                type(error).__name__,
                error,
                exc_info=error,
            )

    def memo_key(self) -> int:
        """Return the key of this leaf's result in ``Context.memo`` (equal leaves share it)."""
        return self._key

    def explain(self, context: Context) -> Explanation:
        from_memo = self._key in context.memo
        self.truth(context)
        value = context.memo[self._key]
        error = value if isinstance(value, BaseException) else None
        try:
            detail = self.detail(context)
        except SynchronousOnlyOperation:
            raise  # not a broken detail: the caller loads it in a thread
        except Exception as problem:  # an explanation must never break the page
            detail = f"(no detail: {type(problem).__name__}: {problem})"
        return Explanation(
            str(self),
            value is True,
            from_memo=from_memo,
            error=error,
            detail=detail,
        )

    def __str__(self) -> str:
        return f"{self.kind}:{self.argument()}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.args))})"


# What the compiler inlines; any other condition it calls.
_NODE_KINDS = NodeKinds(all=All, any=Any, not_=Not, leaf=Leaf)


# Equal leaves share one small int as memo key: an int hashes and compares faster than the
# (class, args) tuple it stands for, on the hottest path. One entry per distinct leaf value.
_memo_keys: dict[tuple[AnyType, ...], int] = {}
_key_numbers = itertools.count()


def _memo_key(value: tuple[AnyType, ...]) -> int:
    key = _memo_keys.get(value)
    if key is None:
        key = _memo_keys.setdefault(value, next(_key_numbers))
    return key


def _require_condition(value: object, operator: str) -> Condition:
    if not isinstance(value, Condition):
        raise TypeError(
            f"Cannot combine a condition with {value!r} using {operator!r}: "
            "expected another Condition (for a constant use Always() or Never())"
        )
    return value
