"""``Guesses``: a bounded memory, in this process, of the value a key had last time.

For guesses whose only use is to save a round trip, where a wrong guess costs that round trip
and never a wrong answer: the schema a host routed to (``tenants.cache``), the user behind a
session cookie (``engine.storage.session_users``). At most ``size`` entries; past it the
oldest is forgotten (a changed guess counts as new). Threads may share one: a lost race
forgets a guess, nothing else.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Guesses(Generic[K, V]):
    """At most ``size`` keys, each with the value it had last time, the oldest forgotten first."""

    __slots__ = ("_values", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        """Return the value ``key`` had last time, or None."""
        return self._values.get(key)

    def remember(self, key: K, value: V | None) -> None:
        """Remember ``value`` for ``key`` (None: forget the key)."""
        values = self._values
        if value is None:
            values.pop(key, None)
            return
        if values.get(key) == value:
            return
        values.pop(key, None)
        while len(values) >= self.size:
            try:  # dicts keep insertion order: drop the oldest (another thread may race us to it)
                del values[next(iter(values))]
            except (KeyError, RuntimeError, StopIteration):
                break
        values[key] = value

    def clear(self) -> None:
        """Forget every guess."""
        self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[K]:
        return iter(self._values)
