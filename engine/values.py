"""What a stored strategy value reads back as: a slug, a strategy, or a ``MissingStrategy``.

Shared by the model fields (``engine.fields``) and the form fields (``engine.forms``).
"""

from __future__ import annotations

from typing import Any

from conditions.naming import echo
from engine.registry import Registry, RegistryMeta

__all__ = ["MissingStrategy", "RegistryRef", "registry_key_of", "slug_of"]

RegistryRef = str | type[Registry]


class MissingStrategy:
    """A stored slug that names no registered strategy: falsy, and saved back as it was read."""

    __slots__ = ("registry_key", "slug")

    registry_key: str
    slug: str

    def __init__(self, registry_key: str, slug: str) -> None:
        object.__setattr__(self, "registry_key", registry_key)
        object.__setattr__(self, "slug", slug)

    @property
    def label(self) -> str:
        return f"{self.slug} (not registered)"

    def __bool__(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MissingStrategy):
            return NotImplemented
        return (self.registry_key, self.slug) == (other.registry_key, other.slug)

    def __hash__(self) -> int:
        return hash((MissingStrategy, self.registry_key, self.slug))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MissingStrategy is immutable")

    def __str__(self) -> str:
        return self.slug

    def __repr__(self) -> str:
        return f"<MissingStrategy {self.slug!r} of {self.registry_key!r}>"


def registry_key_of(registry: RegistryRef) -> str:
    """Return the key of ``registry`` (a key string or a ``Registry`` class); check its type."""
    if isinstance(registry, str) and registry:
        return registry
    if isinstance(registry, RegistryMeta) and getattr(registry, "key", None):
        return registry.key
    raise TypeError(
        f"registry must be a Registry subclass with a key or a registry key string "
        f"(e.g. 'payments'), got {registry!r}"
    )


def slug_of(value: Any, registry: type[Registry] | None = None) -> str | None:
    """Return the slug that stores ``value``: a slug, a strategy class or instance, or a
    ``MissingStrategy``; None stays None. A strategy of another registry is a ``ValueError``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, MissingStrategy):
        if registry is not None and value.registry_key != registry.key:
            raise ValueError(
                f"{value!r} belongs to registry {value.registry_key!r}, not {registry.key!r}."
            )
        return value.slug
    strategy = value if isinstance(value, type) else type(value)
    slug = getattr(strategy, "slug", None)
    owner = getattr(strategy, "registry", None)
    if not isinstance(slug, str) or not isinstance(owner, RegistryMeta):
        expected = f"a strategy of {registry.key!r}" if registry is not None else "a strategy"
        raise TypeError(f"Expected {expected}, its slug or None; got {echo(value)}.")
    if registry is not None:
        if owner.key != registry.key:
            raise ValueError(
                f"{strategy.__name__} ({slug!r}) is a strategy of registry {owner.key!r}, "
                f"not of {registry.key!r}."
            )
        if strategy not in registry:
            raise ValueError(
                f"{strategy.__name__} is not a registered strategy of {registry.key!r}."
            )
    return slug
