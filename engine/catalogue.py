"""The catalogue of registries: every ``Registry`` subclass that sets a ``key``, by key.

Registry classes add themselves when they are created (``engine.registry``); everything else
looks them up here (``get_registry``, ``registries``). Writers copy, change and swap the
mapping under ``lock``; readers read one immutable mapping, so none sees it half-changed.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.exceptions import RegistrationError, UnknownRegistry

if TYPE_CHECKING:
    from engine.registry import Registry

# Held by every change to the catalogue or to a registry's members.
lock = threading.RLock()
_registries: Mapping[str, Any] = MappingProxyType({})
# Every keyed registry class ever created, alive: a re-imported module leaves the old one here.
_created: weakref.WeakSet[Any] = weakref.WeakSet()


def qualified_name(cls: type) -> str:
    """Return ``module.QualName`` of a class: what identifies it across re-imports."""
    return f"{cls.__module__}.{cls.__qualname__}"


def registries() -> Mapping[str, type[Registry]]:
    """Return every registered registry by key (an immutable snapshot)."""
    return _registries


def created_registries() -> list[type[Registry]]:
    """Return every keyed registry class still alive, replaced ones included (for checks)."""
    with lock:
        return sorted(_created, key=qualified_name)


def get_registry(key: str | type[Registry]) -> type[Registry]:
    """Return the registry registered under ``key`` (a registry class is returned as is)."""
    if isinstance(key, type) and hasattr(key, "_members"):
        return key
    try:
        return _registries[key]  # type: ignore[index]
    except (KeyError, TypeError):
        raise UnknownRegistry(str(key), _registries) from None


def add(cls: type[Registry]) -> None:
    """Register ``cls`` under its key; the same class re-imported replaces itself."""
    global _registries
    name = qualified_name(cls)
    with lock:
        taken = _registries.get(cls.key)
        if taken is not None and qualified_name(taken) != name:
            raise RegistrationError(
                f"Registry key {cls.key!r} is taken by {qualified_name(taken)}; "
                f"{name} needs another key."
            )
        _registries = MappingProxyType({**_registries, cls.key: cls})
        _created.add(cls)


Snapshot = tuple[Mapping[str, Any], dict[Any, Any], list[Any]]


def snapshot() -> Snapshot:
    """Capture every registry and its members (``engine.testing.isolated_registries``)."""
    with lock:
        members = {registry: registry._members for registry in _registries.values()}
        return _registries, members, list(_created)


def restore(state: Snapshot) -> None:
    """Put back what ``snapshot()`` captured."""
    global _registries, _created
    saved, members, created = state
    with lock:
        for registry, saved_members in members.items():
            registry._members = saved_members
        _registries = saved
        _created = weakref.WeakSet(created)
