"""Finding strategies at start-up: each installed app's ``strategies`` module, and entry points.

``EngineConfig.ready()`` calls ``autodiscover()``. Importing a strategies module registers its
registries and strategies; nothing may query the database meanwhile (so ``migrate`` works on
an empty database): a query during discovery raises an error naming the module.

Packages outside ``INSTALLED_APPS`` contribute strategies through the entry-point group
``switchyard.strategies``: the entry point names a module (imported), or a function (called
with no argument). ``SWITCHYARD["ENTRY_POINTS_ALLOW"]`` (None: all) and
``SWITCHYARD["ENTRY_POINTS_DENY"]`` pick them by entry-point name.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.utils.module_loading import autodiscover_modules

from engine.conf import settings as switchyard_settings

ENTRY_POINT_GROUP = "switchyard.strategies"


class QueryDuringDiscovery(ImproperlyConfigured):
    """A strategies module or entry point queried the database while it was imported."""


def autodiscover() -> list[str]:
    """Import every app's strategies module and the allowed entry points; return the latter."""
    module = switchyard_settings.STRATEGIES_MODULE
    if not isinstance(module, str) or not module:
        return []  # switchyard.E006 reports it; ready() must not raise for configuration
    with _no_queries(f"the {module!r} modules of installed apps"):
        autodiscover_modules(module)
    return load_entry_points()


def allowed_entry_points() -> list[EntryPoint]:
    """Return the entry points of ``switchyard.strategies`` that the settings allow, by name."""
    allow = switchyard_settings.ENTRY_POINTS_ALLOW
    deny = switchyard_settings.ENTRY_POINTS_DENY
    if not valid_names(allow, allow_none=True) or not valid_names(deny):
        return []  # switchyard.E006 reports it
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda point: point.name)
    return [
        point
        for point in found
        if (allow is None or point.name in allow) and point.name not in deny
    ]


def load_entry_points() -> list[str]:
    """Load the allowed entry points; return their names."""
    loaded = []
    for point in allowed_entry_points():
        with _no_queries(f"entry point {point.name!r} ({point.value})"):
            try:
                target = point.load()
                if inspect.isfunction(target):
                    target()
            except QueryDuringDiscovery:
                raise
            except Exception as error:
                raise ImproperlyConfigured(
                    f"Entry point {point.name!r} = {point.value!r} of group "
                    f"{ENTRY_POINT_GROUP!r} failed to load: {type(error).__name__}: {error}. "
                    "Fix the package, or leave it out with SWITCHYARD['ENTRY_POINTS_DENY']."
                ) from error
        loaded.append(point.name)
    return loaded


def valid_names(value: object, *, allow_none: bool = False) -> bool:
    """Return whether ``value`` is a list or tuple of strings (or None when allowed)."""
    if value is None:
        return allow_none
    return isinstance(value, list | tuple) and all(isinstance(item, str) for item in value)


@contextlib.contextmanager
def _no_queries(what: str) -> Iterator[None]:
    def refuse(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith("SET "):
            return execute(sql, *args)  # django-tenants' search_path, ahead of a real query
        raise QueryDuringDiscovery(
            f"Strategy discovery must not query the database, but {what} ran: {sql[:200]}. "
            "Move the query into a method or a condition, which run per request."
        )

    with contextlib.ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(refuse))
        yield
