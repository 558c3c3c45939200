"""``request.strategy``: a lazy view of every registry for one context, memoised per request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from conditions import Context
from engine.exceptions import NoStrategyAvailable
from engine.explain import RegistryExplanation, explain
from engine.registry import Registry, get_registry, registries
from engine.resolution import Resolution, resolve

if TYPE_CHECKING:
    from engine.strategy import Strategy


class StrategyNamespace:
    """The strategies in force for one context: ``ns.payments`` or ``ns["payments"]``.

    Nothing happens until a registry is read; then it is resolved once and remembered. All
    registries share one ``Context`` (so each flag or permission is looked up once) and the
    one cache round trip that context makes for the stored selections.
    """

    __slots__ = ("_context", "_make_context", "_resolutions")

    def __init__(self, context: Context | Callable[[], Context]) -> None:
        if isinstance(context, Context):
            self._context: Context | None = context
            self._make_context: Callable[[], Context] | None = None
        else:
            self._context = None
            self._make_context = context
        self._resolutions: dict[str, Resolution] = {}

    @property
    def context(self) -> Context:
        """The one context every registry of this namespace is resolved against."""
        if self._context is None:
            assert self._make_context is not None
            self._context = self._make_context()
            self._make_context = None
        return self._context

    def resolution(self, key: str | type[Registry]) -> Resolution:
        """Return the resolution of registry ``key`` (the strategy in force and why)."""
        registry = get_registry(key)
        resolution = self._resolutions.get(registry.key)
        if resolution is None:
            resolution = self._resolutions[registry.key] = resolve(registry, self.context)
        return resolution

    def get(self, key: str | type[Registry]) -> Strategy:
        """Return the strategy in force for registry ``key``."""
        return self.resolution(key).strategy

    def available(self, key: str | type[Registry]) -> list[type[Strategy]]:
        """Return the strategies of registry ``key`` this request may use, in order."""
        return get_registry(key).available(self.context)

    def explain(self, key: str | type[Registry]) -> RegistryExplanation:
        """Return why each strategy of registry ``key`` is or is not available, and which wins."""
        registry = get_registry(key)
        try:
            resolution: Resolution | None = self.resolution(registry)
        except NoStrategyAvailable:
            resolution = None  # explain() resolves again to show why
        return explain(registry, self.context, resolution)

    def keys(self) -> list[str]:
        """Return the keys of every registry, sorted."""
        return sorted(registries())

    def __getattr__(self, key: str) -> Strategy:
        if key.startswith("__"):
            raise AttributeError(key)  # copy/pickle probes must not resolve anything
        return self.resolution(key).strategy

    def __getitem__(self, key: str) -> Strategy:
        return self.resolution(key).strategy

    def __contains__(self, key: object) -> bool:
        return key in registries()

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *self.keys()]

    def __repr__(self) -> str:
        resolved = ", ".join(f"{key}={res.slug}" for key, res in self._resolutions.items())
        return f"<StrategyNamespace resolved: {resolved or 'nothing yet'}>"
