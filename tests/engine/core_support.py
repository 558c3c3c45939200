"""Small condition leaves with known outcomes, for the engine-core tests."""

from __future__ import annotations

from typing import ClassVar

from conditions import Context, Leaf

# How often each Counted leaf was checked, by name.
checks: dict[str, int] = {}


class Fixed(Leaf):
    """Met when its value is True: ``Fixed("name", True)``."""

    __slots__ = ()
    kind: ClassVar[str] = "fixed"

    def check(self, context: Context) -> bool:
        return bool(self.args[1])

    def argument(self) -> str:
        return f"{self.args[0]}={self.args[1]}"


class Counted(Leaf):
    """Met when its value is True; counts its evaluations in ``checks``."""

    __slots__ = ()
    kind: ClassVar[str] = "counted"

    def check(self, context: Context) -> bool:
        checks[self.args[0]] = checks.get(self.args[0], 0) + 1
        return bool(self.args[1])

    def argument(self) -> str:
        return str(self.args[0])


class Boom(Leaf):
    """Always raises: a broken condition."""

    __slots__ = ()
    kind: ClassVar[str] = "boom"

    def check(self, context: Context) -> bool:
        raise RuntimeError(f"{self.args[0]} is broken")


class ExtraIs(Leaf):
    """Met when the context's extra value ``name`` equals ``value``."""

    __slots__ = ()
    kind: ClassVar[str] = "extra"

    def check(self, context: Context) -> bool:
        return bool(context.extra.get(self.args[0]) == self.args[1])

    def argument(self) -> str:
        return f"{self.args[0]}={self.args[1]}"
