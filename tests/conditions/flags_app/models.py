"""Flag models for the conditions tests.

The example site swaps waffle's ``Flag`` for ``tenants.PlatformFlag``, so stock waffle's rules
(``AbstractUserFlag``: users, groups, percent, ...) are tested on ``UserFlag``, an unchanged
concrete subclass; tests point ``WAFFLE_FLAG_MODEL`` at it.
"""

from __future__ import annotations

from typing import Any

from waffle.models import AbstractBaseFlag, AbstractUserFlag


class UserFlag(AbstractUserFlag):
    """waffle's stock flag, under another name."""

    class Meta(AbstractUserFlag.Meta):
        app_label = "conditions_flags"


class ContextFlag(AbstractBaseFlag):
    """A flag deciding from the context: on for the tenant whose schema is in ``note``."""

    class Meta(AbstractBaseFlag.Meta):
        app_label = "conditions_flags"

    def is_active_for_context(self, context: Any) -> bool:
        return getattr(context.tenant, "schema_name", None) == self.note


class DescribedFlag(ContextFlag):
    """A context flag that also says why, for explanations."""

    class Meta:
        app_label = "conditions_flags"
        proxy = True

    def describe_for_context(self, context: Any) -> str:
        return f"on for tenant {self.note} only"
