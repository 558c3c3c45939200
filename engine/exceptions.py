"""The engine's errors: each names the registry or strategy at fault and what was expected."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import (
    ImproperlyConfigured,
    SynchronousOnlyOperation,
    ValidationError,
)

from conditions.naming import echo, suggestion

if TYPE_CHECKING:
    from conditions import Explanation
    from engine.resolution import Skipped


class SwitchyardError(Exception):
    """The base of the engine's runtime errors."""


class RegistrationError(ImproperlyConfigured):
    """A registry or strategy class is declared wrongly (raised when the class is created)."""


class UnknownRegistry(SwitchyardError, AttributeError, KeyError):
    """No registry has this key; an ``AttributeError`` and ``KeyError`` with a suggestion."""

    def __init__(self, key: str, known: Iterable[str]) -> None:
        self.key = key
        known = sorted(known)
        listed = ", ".join(repr(name) for name in known) or "none (nothing was discovered)"
        self.message = (
            f"No registry has the key {echo(key)}.{suggestion(key, known)} Known keys: {listed}."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError would otherwise repr() the message.
        return self.message


class UnknownStrategy(SwitchyardError, KeyError):
    """A slug names no strategy of the registry (a ``KeyError``); suggests the closest slug."""

    def __init__(self, registry_key: str, slug: str, known: Iterable[str]) -> None:
        self.registry_key = registry_key
        self.slug = slug
        known = list(known)
        listed = ", ".join(repr(name) for name in known) or "none"
        self.message = (
            f"Unknown strategy {echo(slug)} in {registry_key!r}.{suggestion(slug, known)} "
            f"Known strategies: {listed}."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class NoStrategyAvailable(SwitchyardError):
    """Every strategy of a registry is unavailable to the context: nothing can be resolved."""

    def __init__(
        self,
        registry_key: str,
        explanations: Sequence[tuple[str, Explanation]],
        skipped: Sequence[Skipped] = (),
    ) -> None:
        self.registry_key = registry_key
        # (slug, why its condition is not met), in the registry's order.
        self.explanations = tuple(explanations)
        self.skipped = tuple(skipped)
        if self.explanations:
            reasons = "; ".join(f"{slug}: {why.text}" for slug, why in self.explanations)
            message = (
                f"No strategy of {registry_key!r} is available: every condition is unmet "
                f"({reasons})."
            )
        else:
            message = f"No strategy of {registry_key!r} is available: the registry is empty."
        super().__init__(message)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description of why nothing was available."""
        return {
            "registry": self.registry_key,
            "strategies": [
                {"slug": slug, "explanation": why.as_dict()} for slug, why in self.explanations
            ],
            "skipped": [skip.as_dict() for skip in self.skipped],
        }


class NeedsAwait(SwitchyardError, SynchronousOnlyOperation):
    """``request.strategy.<key>`` was read in an async view and needs the database or cache.

    Use the async API there: ``await request.strategy.aget("payments")`` (and ``aresolution``,
    ``aavailable``, ``aexplain``), which does the request's I/O in one thread hop.
    """

    def __init__(self, key: str, what: str = "get") -> None:
        self.key = key
        self.message = (
            f"request.strategy {what} of {key!r} needs the database or the cache, and this "
            f"code runs in an event loop (an async view): use "
            f"`await request.strategy.a{what}({key!r})` there. Sync access works in an async "
            f"view only once the request's selections are loaded (after one awaited call)."
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def unknown_strategy_error(registry: Any, slug: str) -> ValidationError:
    """Return the ``ValidationError`` (code ``unknown_strategy``) for a slug ``registry`` lacks."""
    return ValidationError(
        "Unknown strategy %(slug)s in %(registry)s.%(suggestion)s Choose one of: %(known)s.",
        code="unknown_strategy",
        params={
            "slug": echo(slug),
            "registry": repr(registry.key),
            "suggestion": suggestion(slug, registry.slugs()),
            "known": ", ".join(registry.slugs()) or "none",
        },
    )
