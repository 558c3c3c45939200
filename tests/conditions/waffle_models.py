"""Flag models for the conditions tests, registered under waffle's app label.

The example site swaps waffle's ``Flag`` for ``tenants.PlatformFlag``, so stock waffle's rules
(``AbstractUserFlag``: users, groups, percent, ...) are tested on ``UserFlag``, an unchanged
concrete subclass. The tables are created inside each test's transaction (PostgreSQL DDL is
transactional), so nothing outlives the test.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from waffle.models import AbstractBaseFlag, AbstractUserFlag


class UserFlag(AbstractUserFlag):
    """waffle's stock flag, under another name."""

    class Meta(AbstractUserFlag.Meta):
        app_label = "waffle"
        db_table = "switchyard_test_userflag"


class ContextFlag(AbstractBaseFlag):
    """A flag deciding from the context: on for the tenant whose schema is in ``note``."""

    class Meta(AbstractBaseFlag.Meta):
        app_label = "waffle"
        db_table = "switchyard_test_contextflag"

    def is_active_for_context(self, context: Any) -> bool:
        return getattr(context.tenant, "schema_name", None) == self.note


class DescribedFlag(ContextFlag):
    """A context flag that also says why, for explanations."""

    class Meta(AbstractBaseFlag.Meta):
        app_label = "waffle"
        db_table = "switchyard_test_describedflag"
        proxy = True

    def describe_for_context(self, context: Any) -> str:
        return f"on for tenant {self.note} only"


def create_tables(*models: Any) -> None:
    """Create the tables of ``models`` in the current transaction (rolled back with it)."""
    with connection.schema_editor() as editor:
        for model in models:
            editor.create_model(model)
