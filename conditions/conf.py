"""Switchyard's settings: ``SWITCHYARD = {...}`` in Django settings, read through ``settings``.

``from conditions.conf import settings`` then ``settings.CACHE`` (``engine.conf`` re-exports it).
This is the lowest layer that reads a setting, so the one settings object lives here; values
follow ``override_settings`` because the object reloads on Django's ``setting_changed`` signal.
Apps built on it add their keys with ``register_defaults`` (the engine adds
``STRATEGIES_MODULE``, the tenants app ``PLANS``).

An unknown key (a typo such as ``CACHE_TIMOUT``) is reported by the system check
``switchyard.E005``, naming the key and the closest known one; reads ignore it and use the
defaults, so a typo never turns into an exception on every request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from conditions.naming import suggestion

SETTING_NAME = "SWITCHYARD"

DEFAULTS: dict[str, Any] = {
    # The cache alias for selections and platform-wide stamps. Switchyard puts the tenant
    # schema in its keys itself, so this alias should not prefix keys with the schema.
    "CACHE": "default",
    # Seconds Switchyard leaves its cache alone after a cache error: every read is a miss
    # (the database answers) and writes are skipped, so a dead cache costs one timeout per
    # period instead of one per request.
    "CACHE_RETRY_AFTER": 5,
    # Seconds between two warnings about the same kind of cache failure.
    "CACHE_WARNING_INTERVAL": 60,
    # The documented bound, in seconds, on how long any process may serve state older than
    # what is committed once the cache is reachable (a lost invalidation, a cache restored
    # from an old snapshot, a writer that could not reach the cache): cached selections,
    # routing entries and the flag snapshot are all revalidated within it.
    "STALENESS_BOUND": 10,
    # Re-raise errors from conditions instead of counting them as "not met" (for tests).
    "STRICT_CONDITIONS": False,
}


def register_defaults(**defaults: Any) -> None:
    """Add settings keys (and their defaults) owned by another app built on the engine."""
    for key, value in defaults.items():
        DEFAULTS.setdefault(key, value)
    settings.reload()


class SwitchyardSettings:
    """The merged ``SWITCHYARD`` dict: user values over ``DEFAULTS``, unknown keys rejected."""

    # Also a class attribute: a read racing reload() (which empties the instance's __dict__)
    # finds None and merges again, never an AttributeError.
    _cached: dict[str, Any] | None = None

    def __init__(self) -> None:
        self._cached = None

    def user_settings(self) -> dict[str, Any]:
        """Return the ``SWITCHYARD`` dict from Django settings (empty when unset)."""
        value = getattr(django_settings, SETTING_NAME, {})
        if not isinstance(value, dict):
            raise ImproperlyConfigured(
                f"settings.{SETTING_NAME} must be a dict, got {type(value).__name__}"
            )
        return value

    def unknown_keys(self) -> list[str]:
        """Return the keys of ``SWITCHYARD`` that no app defines."""
        return sorted(set(self.user_settings()) - set(DEFAULTS))

    def unknown_key_message(self, key: str) -> str:
        return (
            f"Unknown key {key!r} in settings.{SETTING_NAME}.{suggestion(key, DEFAULTS)} "
            f"Known keys: {', '.join(sorted(DEFAULTS))}."
        )

    def _merged(self) -> dict[str, Any]:
        if self._cached is None:
            try:
                user = self.user_settings()
            except ImproperlyConfigured:
                user = {}  # switchyard.E006 reports it; requests run on the defaults
            known = {key: value for key, value in user.items() if key in DEFAULTS}
            self._cached = {**DEFAULTS, **known}
        return self._cached

    def __getattr__(self, name: str) -> Any:
        # Only reached for a key not read since the last reload: it is then kept as a plain
        # attribute (as DRF's api_settings does), so requests read settings at attribute speed.
        if name.startswith("_"):
            raise AttributeError(name)
        merged = self._merged()
        try:
            value = merged[name]
        except KeyError:
            raise AttributeError(
                f"Switchyard has no setting {name!r}.{suggestion(name, merged)}"
            ) from None
        self.__dict__[name] = value
        return value

    def reload(self) -> None:
        """Forget the merged values; the next read sees the current Django settings."""
        self.__dict__.clear()
        self._cached = None


settings = SwitchyardSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        settings.reload()


setting_changed.connect(_reload)
