"""Leaves with fixed outcomes for tests: ``test:true``, ``test:false``, ``test:raise``."""

from __future__ import annotations

from typing import ClassVar

from conditions import Context, Leaf, register_kind


class Boom(RuntimeError):
    """What ``test:raise`` raises."""


@register_kind
class Fixed(Leaf):
    """A leaf with a fixed outcome, counting its evaluations in ``calls``."""

    __slots__ = ()
    kind = "test"
    calls: ClassVar[list[str]] = []

    def __init__(self, outcome: str) -> None:
        if outcome not in ("true", "false", "raise") and not outcome.startswith(
            ("true.", "false.", "raise.")
        ):
            raise ValueError(
                f"outcome must be true, false or raise (optionally .suffix), got {outcome!r}"
            )
        super().__init__(outcome)

    def check(self, context: Context) -> bool:
        Fixed.calls.append(self.args[0])
        outcome = self.args[0].split(".")[0]
        if outcome == "raise":
            raise Boom(f"{self} failed")
        return outcome == "true"

    def detail(self, context: Context) -> str:
        return f"fixed {self.args[0]}"


T, F, R = Fixed("true"), Fixed("false"), Fixed("raise")
