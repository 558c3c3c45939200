"""Test helpers that need no database: force a strategy, force a condition, isolate registries.

Each helper works as a context manager, a function decorator (sync or async), a class
decorator (``unittest.TestCase``: around each test via ``setUp``; other classes: each
``test*`` method), and through the pytest fixtures of ``engine.pytest_plugin``. Overrides live
in context variables, so a test's override never leaks into another thread or task.
"""

from __future__ import annotations

import functools
import inspect
import unittest
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from types import MappingProxyType, TracebackType
from typing import Any, TypeVar

from conditions import Always, Condition, Never
from engine import catalogue as registry_catalogue
from engine import registry as registry_module
from engine import sets
from engine.exceptions import UnknownStrategy
from engine.registry import Registry, get_registry, registries
from engine.resolution import forced_conditions, forced_strategies
from engine.strategy import Strategy

T = TypeVar("T")


class Override:
    """Something switched on for a block: ``enable()`` then ``disable()``; usable many ways."""

    def __init__(self) -> None:
        self._stack: list[Any] = []

    def enable(self) -> None:
        raise NotImplementedError

    def disable(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Override:
        self.enable()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disable()

    def __call__(self, target: T) -> T:
        if isinstance(target, type):
            return self._decorate_class(target)  # type: ignore[return-value]
        if not callable(target):
            raise TypeError(
                f"{type(self).__name__} decorates functions and classes, not {target!r}"
            )
        return self._decorate_function(target)  # type: ignore[return-value]

    def _decorate_function(self, function: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_inner(*args: Any, **kwargs: Any) -> Any:
                with self:
                    return await function(*args, **kwargs)

            return async_inner

        @functools.wraps(function)
        def inner(*args: Any, **kwargs: Any) -> Any:
            with self:
                return function(*args, **kwargs)

        return inner

    def _decorate_class(self, cls: type) -> type:
        if issubclass(cls, unittest.TestCase):
            original = cls.setUp

            def setUp(test: unittest.TestCase) -> None:
                self.enable()
                test.addCleanup(self.disable)
                original(test)

            cls.setUp = setUp  # type: ignore[method-assign,assignment]
            return cls
        for name, value in list(vars(cls).items()):
            if name.startswith("test") and inspect.isfunction(value):
                setattr(cls, name, self._decorate_function(value))
        return cls

    def _push(self, variable: ContextVar[Any], value: Any) -> None:
        self._stack.append((variable, variable.get()))
        variable.set(value)

    def _pop(self) -> None:
        variable, previous = self._stack.pop()
        # set(), not reset(token): a fixture may tear down in another context than it set up.
        variable.set(previous)


class override_strategy(Override):
    """Force registry ``key`` to resolve to ``slug`` (reason ``OVERRIDDEN``), conditions aside.

    ``override_strategy("payments", "invoice")`` or ``override_strategy(Invoice)``; for a
    registry holding a set, the slugs in order: ``override_strategy("notifications",
    ["email", "slack"])`` (or ``"email,slack"``). No selection is read, so no database or
    cache is needed.
    """

    def __init__(
        self,
        key: str | type[Registry] | type[Strategy],
        slug: str | Sequence[str] | None = None,
    ):
        super().__init__()
        self.key = key
        self.slug = slug

    def enable(self) -> None:
        key, slug = self._target()
        current = forced_strategies.get()
        self._push(forced_strategies, MappingProxyType({**current, key: slug}))

    def disable(self) -> None:
        self._pop()

    def _target(self) -> tuple[str, str]:
        if isinstance(self.key, type) and not isinstance(self.key, registry_module.RegistryMeta):
            if self.slug is not None:
                raise TypeError("override_strategy(StrategyClass) takes no slug")
            strategy = strategy_class(self.key)
            return _registry_of(strategy).key, strategy.slug
        if self.slug is None:
            raise TypeError("override_strategy(key, slug) needs the slug to force")
        registry = get_registry(self.key)
        if registry.multiple:
            chosen = sets.split(self.slug) if isinstance(self.slug, str) else self.slug
            return registry.key, sets.join(registry.get(slug).slug for slug in chosen)
        if not isinstance(self.slug, str):
            raise TypeError(f"{registry.key!r} holds one strategy: force one slug, not a list")
        return registry.key, registry.get(self.slug).slug


class override_condition(Override):
    """Replace the condition of one or more strategies: ``override_condition(Crypto, True)``.

    Each target is a strategy class or ``"registry_key.slug"``; the condition is a
    ``Condition`` or a bool (``True`` → ``Always()``, ``False`` → ``Never()``).
    """

    def __init__(self, *targets: type[Strategy] | str, condition: Condition | bool | None = None):
        super().__init__()
        if targets and condition is None and isinstance(targets[-1], Condition | bool):
            *rest, last = targets
            targets, condition = tuple(rest), last
        if not targets:
            raise TypeError("override_condition() needs at least one strategy")
        if condition is None:
            raise TypeError("override_condition() needs the condition (a Condition or a bool)")
        if isinstance(condition, bool):
            condition = Always() if condition else Never()
        if not isinstance(condition, Condition):
            raise TypeError(f"override_condition() got {condition!r}; expected a Condition or bool")
        self.targets = targets
        self.condition = condition

    def enable(self) -> None:
        forced = dict(forced_conditions.get())
        for target in self.targets:
            forced[strategy_class(target)] = self.condition
        self._push(forced_conditions, MappingProxyType(forced))

    def disable(self) -> None:
        self._pop()


class isolated_registries(Override):
    """Registries and strategies defined inside the block are forgotten when it ends."""

    def enable(self) -> None:
        self._stack.append(registry_catalogue.snapshot())

    def disable(self) -> None:
        registry_catalogue.restore(self._stack.pop())


def strategy_class(target: type[Strategy] | str) -> type[Strategy]:
    """Return the strategy named by ``target``: a class, ``"key.slug"`` or ``"key:slug"``."""
    if isinstance(target, type):
        registry = _registry_of(target)
        if target not in registry:
            raise UnknownStrategy(registry.key, str(target.slug), registry.slugs())
        return target
    key, separator, slug = target.replace(":", ".").partition(".")
    if not separator:
        raise ValueError(
            f"Strategy {target!r}: expected a Strategy class or 'registry_key.slug', "
            f"e.g. {'payments.' + target!r}; registries: {', '.join(sorted(registries()))}"
        )
    return get_registry(key).get(slug)


def _registry_of(strategy: type[Strategy]) -> type[Registry]:
    registry = getattr(strategy, "registry", None)
    if registry is None:
        raise TypeError(f"{strategy!r} is not a registered strategy (it has no registry)")
    return get_registry(registry)


class Overrides:
    """What the ``switchyard_override`` fixture returns: overrides undone after the test."""

    def __init__(self) -> None:
        self._active: list[Override] = []

    def strategy(self, key: str | type[Registry] | type[Strategy], slug: str | None = None) -> None:
        """Force a registry's resolution until the end of the test (see ``override_strategy``)."""
        self._enable(override_strategy(key, slug))

    def condition(
        self, *targets: type[Strategy] | str, condition: Condition | bool | None = None
    ) -> None:
        """Replace strategies' conditions until the end of the test (``override_condition``)."""
        self._enable(override_condition(*targets, condition=condition))

    def _enable(self, override: Override) -> None:
        override.enable()
        self._active.append(override)

    def undo(self) -> None:
        """Undo every override, newest first."""
        while self._active:
            self._active.pop().disable()
