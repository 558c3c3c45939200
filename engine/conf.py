"""Switchyard's settings: ``SWITCHYARD = {...}`` in Django settings, read through ``settings``.

``from engine.conf import settings`` then ``settings.CACHE``. Unknown keys are an error that
names the key (and the closest known one); values follow ``override_settings`` because the
object reloads on Django's ``setting_changed`` signal. Apps built on the engine add their own
keys with ``register_defaults`` (the tenants app adds ``PLANS``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

from conditions.kinds import suggestion

SETTING_NAME = "SWITCHYARD"

DEFAULTS: dict[str, Any] = {
    # The cache alias for selections and platform-wide stamps. Switchyard puts the tenant
    # schema in its keys itself, so this alias should not prefix keys with the schema.
    "CACHE": "default",
    # Seconds a tenant's cached selections live; writes invalidate them at once anyway.
    "CACHE_TIMEOUT": 60 * 60 * 24,
    # The module imported from every installed app to discover strategies.
    "STRATEGIES_MODULE": "strategies",
    # Entry points (group "switchyard.strategies") to load: None means all, minus DENY.
    "ENTRY_POINTS_ALLOW": None,
    "ENTRY_POINTS_DENY": [],
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

    def __init__(self) -> None:
        self._cached: dict[str, Any] | None = None

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
            user = self.user_settings()
            unknown = self.unknown_keys()
            if unknown:
                raise ImproperlyConfigured(self.unknown_key_message(unknown[0]))
            self._cached = {**DEFAULTS, **user}
        return self._cached

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        merged = self._merged()
        try:
            return merged[name]
        except KeyError:
            raise AttributeError(
                f"Switchyard has no setting {name!r}.{suggestion(name, merged)}"
            ) from None

    def reload(self) -> None:
        """Forget the merged values; the next read sees the current Django settings."""
        self._cached = None


settings = SwitchyardSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == SETTING_NAME:
        settings.reload()


setting_changed.connect(_reload)
