"""System checks (``switchyard.E150`` to ``E154``, ``W150``) for registries that hold a set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from conditions.naming import suggestion
from engine.registry import Registry, qualified_name, registries

TAG = "switchyard"
SET_ATTRIBUTES = ("min_selected", "max_selected", "mandatory")


@register(TAG)
def check_sets(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """E150-E154: a ``multiple`` registry declared wrongly; W150: set attributes ignored."""
    messages: list[CheckMessage] = []
    for _, registry in sorted(registries().items()):
        if registry.multiple:
            messages.extend(_check_counts(registry))
            messages.extend(_check_slugs(registry, "mandatory", "switchyard.E151"))
            messages.extend(_check_slugs(registry, "default", "switchyard.E153"))
        else:
            declared = [name for name in SET_ATTRIBUTES if _declared(registry, name)]
            if declared:
                messages.append(
                    Warning(
                        f"{qualified_name(registry)} sets {', '.join(declared)}, which only a "
                        "registry holding a set uses: they are ignored.",
                        hint=f"Set {registry.__name__}.multiple = True, or remove them.",
                        obj=registry,
                        id="switchyard.W150",
                    )
                )
    return messages


def _declared(registry: type[Registry], name: str) -> bool:
    return any(name in vars(cls) for cls in registry.__mro__ if cls is not Registry)


def _check_counts(registry: type[Registry]) -> list[CheckMessage]:
    """E150: min_selected/max_selected malformed or min > max; E152: too many mandatory."""
    name = qualified_name(registry)
    low, high = registry.min_selected, registry.max_selected
    if type(low) is not int or low < 0 or not (high is None or (type(high) is int and high > 0)):
        return [
            Error(
                f"{name} has min_selected={low!r} and max_selected={high!r}; expected an "
                "integer of 0 or more, and None or a positive integer.",
                hint=f"Fix {registry.__name__}.min_selected / max_selected.",
                obj=registry,
                id="switchyard.E150",
            )
        ]
    messages: list[CheckMessage] = []
    if high is not None and low > high:
        messages.append(
            Error(
                f"{name}.min_selected ({low}) is greater than max_selected ({high}): no set "
                "can be stored.",
                hint=f"Lower {registry.__name__}.min_selected or raise max_selected.",
                obj=registry,
                id="switchyard.E150",
            )
        )
    mandatory = registry.mandatory
    if high is not None and isinstance(mandatory, tuple | list) and len(mandatory) > high:
        messages.append(
            Error(
                f"{name} has {len(mandatory)} mandatory strategies but max_selected is {high}: "
                "every set would be too large.",
                hint=f"Raise {registry.__name__}.max_selected to at least {len(mandatory)}.",
                obj=registry,
                id="switchyard.E152",
            )
        )
    defaults = registry.default
    if high is not None and isinstance(defaults, tuple | list) and len(defaults) > high:
        messages.append(
            Error(
                f"{name}.default lists {len(defaults)} strategies but max_selected is {high}.",
                hint=f"Shorten {registry.__name__}.default or raise max_selected.",
                obj=registry,
                id="switchyard.E154",
            )
        )
    return messages


def _check_slugs(registry: type[Registry], attribute: str, check_id: str) -> list[CheckMessage]:
    """E151 (mandatory) / E153 (default): a tuple of distinct slugs of the registry, or None."""
    value = getattr(registry, attribute)
    name = f"{qualified_name(registry)}.{attribute}"
    known = registry.slugs()
    expected = f"Set {registry.__name__}.{attribute} to a tuple of slugs among: " + (
        ", ".join(known) or "no strategy yet"
    )
    if value is None and attribute == "default":
        return []
    if not isinstance(value, tuple | list) or not all(isinstance(s, str) for s in value):
        return [
            Error(
                f"{name} is {value!r}; a registry holding a set expects a tuple of slugs.",
                hint=expected
                + (", e.g. (" + repr(value) + ",)." if isinstance(value, str) else "."),
                obj=registry,
                id=check_id,
            )
        ]
    messages: list[CheckMessage] = []
    for slug in value:
        if slug not in registry:
            messages.append(
                Error(
                    f"{name} names {slug!r}, which is not a strategy of {registry.key!r}."
                    f"{suggestion(slug, known)}",
                    hint=expected + ".",
                    obj=registry,
                    id=check_id,
                )
            )
    if len(set(value)) != len(value):
        messages.append(
            Error(
                f"{name} lists a slug twice: {value!r}.",
                hint=expected + ".",
                obj=registry,
                id=check_id,
            )
        )
    return messages
