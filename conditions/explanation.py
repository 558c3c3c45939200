"""Why a condition is or is not met: a tree that prints as indented text and converts to JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Explanation:
    """One node of a condition's evaluation: its text, result, memo use, error and children."""

    text: str
    result: bool
    from_memo: bool = False
    error: BaseException | None = None
    detail: str = ""
    children: tuple[Explanation, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of this node and its children."""
        return {
            "text": self.text,
            "result": self.result,
            "from_memo": self.from_memo,
            "error": _describe(self.error) if self.error is not None else None,
            "detail": self.detail,
            "children": [child.as_dict() for child in self.children],
        }

    def lines(self, indent: int = 0) -> list[str]:
        """Return the tree as indented lines, one per node."""
        mark = "!" if self.error is not None else ("✓" if self.result else "✗")
        notes = []
        if self.from_memo:
            notes.append("memo")
        if self.detail:
            notes.append(self.detail)
        if self.error is not None:
            notes.append(f"error: {_describe(self.error)}")
        suffix = f"  [{'; '.join(notes)}]" if notes else ""
        own = f"{'  ' * indent}{mark} {self.text}{suffix}"
        return [own, *(line for child in self.children for line in child.lines(indent + 1))]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
