"""Compile a condition tree into one Python function: its ``truth``, without a call per node.

An ``All``, ``Any`` or ``Not`` is evaluated millions of times with the same shape, so the first
time one is asked for its truth it is turned into straight-line Python: every plain ``Leaf`` of
the tree inlined with its memo lookup, every ``&``/``|``/``~`` an ``if``, each short-circuit a
skipped block. Measured on the conditions benchmark (20 ``(Permission & Setting) | Flag``, a
fresh context each): the per-node loop spent about half the time in the algebra, the compiled
function a fifth.

The semantics are exactly the loop's (``conditions.base``): operands in order, ``All`` stops
at the first False and ``Any`` at the first True, a leaf that raises is unknown (``None``) and
memoised as its exception, ``~`` of unknown is unknown, and an unknown operand makes the node
unknown unless another operand decided it. Any other condition (a custom ``Condition``
subclass, a leaf that overrides ``truth``, ``Always``) is called as it is.

The generated source holds only names and integer literals made here; every object it uses
(the leaves' checks, other conditions) is passed in as a default argument, so no text of a
condition ever becomes code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from conditions.base import Condition, Truth
    from conditions.context import Context

# Nesting deeper than this is not inlined but called (its own compiled truth): each level
# indents the generated code, and CPython's tokenizer stops at 100 levels.
MAX_INLINE_DEPTH = 24


@dataclass(frozen=True)
class NodeKinds:
    """The classes of the nodes the compiler knows, handed over by ``conditions.base`` (which
    calls the compiler: this module imports nothing of it)."""

    all: type
    any: type
    not_: type
    leaf: Any


def compile_truth(condition: Condition, kinds: NodeKinds) -> Callable[[Context], Truth]:
    """Return a function ``(context) -> True | False | None`` equal to ``condition.truth``."""
    writer = _Writer(kinds)
    writer.line(1, "memo = context.memo")
    writer.line(1, "get = memo.get")
    writer.node(condition, 1, depth=0)
    writer.line(1, "return t")
    parameters = "".join(f", {name}={name}" for name in writer.objects)
    source = f"def truth(context{parameters}):\n" + "\n".join(writer.lines) + "\n"
    namespace: dict[str, Any] = {}
    code = compile(source, f"<condition {_short(condition)}>", "exec")
    exec(code, dict(writer.objects), namespace)
    function: Callable[[Context], Truth] = namespace["truth"]
    function.__qualname__ = f"compiled truth of {_short(condition)}"
    return function


class _Writer:
    """Writes the body of a compiled ``truth``: each node leaves its value in ``t``."""

    def __init__(self, kinds: NodeKinds) -> None:
        self.kinds = kinds
        self.lines: list[str] = []
        self.objects: dict[str, Any] = {}  # the defaults of the generated function, by name
        self._unknowns = 0

    def line(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    def node(self, condition: Any, indent: int, depth: int) -> None:
        kind, kinds = type(condition), self.kinds
        if depth > MAX_INLINE_DEPTH:
            self.call(condition, indent)
        elif kind is kinds.all or kind is kinds.any:
            self.composite(condition.conditions, kind is kinds.any, indent, depth)
        elif kind is kinds.not_:
            self.node(condition.condition, indent, depth + 1)
            self.line(indent, "if t is not None:")
            self.line(indent + 1, "t = not t")
        elif isinstance(condition, kinds.leaf) and kind.truth is kinds.leaf.truth:
            self.leaf(condition, indent)
        else:
            self.call(condition, indent)

    def composite(
        self, operands: tuple[Condition, ...], decisive: bool, indent: int, depth: int
    ) -> None:
        # Each operand runs in a block guarded by "not decided yet"; once decided, ``t`` keeps
        # the decisive value (the skipped blocks cannot change it), so the guards stay flat.
        unknown = f"u{self._unknowns}"
        self._unknowns += 1
        self.line(indent, f"{unknown} = False")
        for position, operand in enumerate(operands):
            inner = indent
            if position:
                self.line(indent, f"if t is not {decisive}:")
                inner = indent + 1
            self.node(operand, inner, depth + 1)
            self.line(inner, "if t is None:")
            self.line(inner + 1, f"{unknown} = True")
        self.line(indent, f"if t is not {decisive}:")
        self.line(indent + 1, f"t = None if {unknown} else {not decisive}")

    def leaf(self, leaf: Any, indent: int) -> None:
        # The leaf's result in this context, else its check, once (Leaf.truth, inlined); a leaf
        # that is not memoised, its check every time.
        check = self.object(leaf.check)
        if not leaf.memoised:
            self.checked(check, None, indent)
            return
        key = int(leaf.memo_key())
        self.line(indent, f"t = get({key})")
        self.line(indent, "if t is None:")
        self.checked(check, key, indent + 1)
        self.line(indent, "elif t.__class__ is not bool:")
        self.line(indent + 1, "t = None")  # the exception it raised: unknown

    def checked(self, check: str, key: int | None, indent: int) -> None:
        # The check's answer as a bool (memoised under ``key`` unless None); a check that
        # raises is recorded by the leaf (memoised, logged once, re-raised if strict): unknown.
        self.line(indent, "try:")
        self.line(indent + 1, f"t = {check}(context)")
        self.line(indent + 1, "if t is not True and t is not False:")
        self.line(indent + 2, "t = bool(t)")
        if key is not None:
            self.line(indent + 1, f"memo[{key}] = t")
        self.line(indent, "except Exception as error:")
        self.line(indent + 1, f"{check}.__self__.failed(context, error)")
        self.line(indent + 1, "t = None")

    def call(self, condition: Condition, indent: int) -> None:
        self.line(indent, f"t = {self.object(condition)}.truth(context)")

    def object(self, value: Any) -> str:
        name = f"o{len(self.objects)}"
        self.objects[name] = value
        return name


def _short(condition: Condition) -> str:
    # Only a name for tracebacks: whatever a custom leaf's text holds (or if it cannot be
    # written at all), it must not stop the condition from compiling.
    try:
        text = "".join(ch if ch.isprintable() else "?" for ch in str(condition))
    except Exception:
        text = type(condition).__name__
    return text if len(text) <= 60 else text[:57] + "..."
