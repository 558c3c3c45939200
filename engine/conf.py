"""The engine's keys in ``SWITCHYARD = {...}``; the settings object itself is ``conditions.conf``.

``from engine.conf import settings`` keeps working: it is the same object.
"""

from __future__ import annotations

from conditions.conf import DEFAULTS, SETTING_NAME, register_defaults, settings

__all__ = ["DEFAULTS", "SETTING_NAME", "register_defaults", "settings"]

register_defaults(
    # Seconds a tenant's cached selections live at most; writes invalidate them at once, and
    # STALENESS_BOUND bounds how long a lost invalidation can be served.
    CACHE_TIMEOUT=60 * 60 * 24,
    # The module imported from every installed app to discover strategies.
    STRATEGIES_MODULE="strategies",
    # Entry points (group "switchyard.strategies") to load: None means all, minus DENY.
    ENTRY_POINTS_ALLOW=None,
    ENTRY_POINTS_DENY=[],
    # Fernet keys that encrypt strategy configuration secrets: the first encrypts, all
    # decrypt (put a new key first, run switchyard_rotate_secrets, then drop the old one).
    SECRET_KEYS=[],
)
